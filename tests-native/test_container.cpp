// ms_process_container_get: the cgroup path shapes of Docker, containerd
// (Kubernetes included), CRI-O and Podman, cgroup v1 and v2, cgroupfs and
// systemd drivers, from real-looking samples; hostile near-misses; NSpid; and
// the live call on this process.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "linux/container_parse.h"
}

namespace {

const std::string kId = "8e2c4a6f0b1d3e5f7a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f";
const std::string kUid = "2f1b4c7e-9a3d-4e51-8c2b-6d0e7f9a1b23";
const std::string kUidSlice = "2f1b4c7e_9a3d_4e51_8c2b_6d0e7f9a1b23";

ms_container_info parse(const std::string &text)
{
    ms_container_info c;
    std::memset(&c, 0, sizeof c);
    // Not NUL-terminated on purpose: the parser must keep to the length.
    std::string copy = text + "XXXX";
    ms__cgroup_container(copy.data(), text.size(), &c);
    return c;
}

void expect_container(const std::string &text, int32_t runtime, const std::string &pod = "")
{
    ms_container_info c = parse(text);
    EXPECT_TRUE(c.flags & MS_CONTAINER_ID) << text;
    EXPECT_EQ(std::string(c.id), kId) << text;
    EXPECT_STREQ(ms_container_runtime_name(c.runtime), ms_container_runtime_name(runtime)) << text;
    if (pod.empty()) {
        EXPECT_FALSE(c.flags & MS_CONTAINER_POD) << text;
    } else {
        EXPECT_TRUE(c.flags & MS_CONTAINER_POD) << text;
        EXPECT_EQ(std::string(c.pod_uid), pod) << text;
    }
}

void expect_none(const std::string &text)
{
    ms_container_info c = parse(text);
    EXPECT_FALSE(c.flags & MS_CONTAINER_ID) << text << " gave " << c.id;
}

} // namespace

TEST(ContainerCgroup, DockerCgroupfsV1)
{
    std::string text = "12:perf_event:/docker/" + kId + "\n11:memory:/docker/" + kId +
                       "\n2:cpu,cpuacct:/docker/" + kId + "\n1:name=systemd:/docker/" + kId + "\n0::/docker/" + kId + "\n";
    expect_container(text, MS_RUNTIME_DOCKER);
}

TEST(ContainerCgroup, DockerSystemdV2)
{
    expect_container("0::/system.slice/docker-" + kId + ".scope\n", MS_RUNTIME_DOCKER);
}

TEST(ContainerCgroup, DockerInDockerIsTheInnermost)
{
    std::string outer(64, 'a');
    expect_container("0::/docker/" + outer + "/docker/" + kId + "\n", MS_RUNTIME_DOCKER);
}

TEST(ContainerCgroup, KubernetesCgroupfsV1WithPodUid)
{
    std::string path = "/kubepods/burstable/pod" + kUid + "/" + kId;
    std::string text = "11:memory:" + path + "\n4:pids:" + path + "\n1:name=systemd:" + path + "\n0::/\n";
    expect_container(text, MS_RUNTIME_UNKNOWN, kUid);
    expect_container("0::/kubepods/pod" + kUid + "/" + kId + "\n", MS_RUNTIME_UNKNOWN, kUid); // Guaranteed QoS
}

TEST(ContainerCgroup, ContainerdSystemdV2WithPod)
{
    expect_container("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSlice +
                         ".slice/cri-containerd-" + kId + ".scope\n",
                     MS_RUNTIME_CONTAINERD, kUid);
    expect_container("0::/kubepods.slice/kubepods-pod" + kUidSlice + ".slice/cri-containerd-" + kId + ".scope\n",
                     MS_RUNTIME_CONTAINERD, kUid);
}

TEST(ContainerCgroup, ContainerdSystemdColonFormV1)
{
    expect_container("5:memory:/system.slice/containerd.service/kubepods-burstable-pod" + kUidSlice +
                         ".slice:cri-containerd:" + kId + "\n",
                     MS_RUNTIME_CONTAINERD, kUid);
}

TEST(ContainerCgroup, ContainerdNamespaceAndId)
{
    expect_container("0::/default/" + kId + "\n", MS_RUNTIME_CONTAINERD);
    expect_container("3:cpuset:/k8s.io/" + kId + "\n", MS_RUNTIME_CONTAINERD);
}

TEST(ContainerCgroup, CrioSystemdAndCgroupfs)
{
    expect_container("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSlice + ".slice/crio-" +
                         kId + ".scope\n",
                     MS_RUNTIME_CRIO, kUid);
    expect_container("7:devices:/kubepods/besteffort/pod" + kUid + "/crio-" + kId + "\n", MS_RUNTIME_CRIO, kUid);
}

TEST(ContainerCgroup, ConmonMonitorsAreNotTheContainer)
{
    ms_container_info c = parse("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSlice +
                                ".slice/crio-conmon-" + kId + ".scope\n");
    EXPECT_FALSE(c.flags & MS_CONTAINER_ID);
    EXPECT_TRUE(c.flags & MS_CONTAINER_POD);
    expect_none("0::/machine.slice/libpod-conmon-" + kId + ".scope\n");
    expect_none("4:memory:/libpod_parent/conmon\n");
}

TEST(ContainerCgroup, PodmanCgroupfsV1AndSystemdV2)
{
    // This host's hybrid layout with --cgroup-manager cgroupfs.
    std::string path = "/libpod_parent/libpod-" + kId;
    expect_container("9:name=systemd:" + path + "\n4:memory:" + path + "\n0::" + path + "\n", MS_RUNTIME_PODMAN);
    expect_container("0::/machine.slice/libpod-" + kId + ".scope\n", MS_RUNTIME_PODMAN);
    // Rootless with the container's own sub-cgroup (--cgroups=split).
    expect_container("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope/container\n",
                     MS_RUNTIME_PODMAN);
}

TEST(ContainerCgroup, HybridHostFindsTheLineThatNamesTheContainer)
{
    expect_container("0::/\n9:name=systemd:/\n4:memory:/docker/" + kId + "\n", MS_RUNTIME_DOCKER);
}

TEST(ContainerCgroup, HostProcessesHaveNone)
{
    expect_none("0::/init.scope\n");
    expect_none("0::/\n");
    expect_none("0::/user.slice/user-1000.slice/session-2.scope\n");
    expect_none("12:pids:/\n4:memory:/process_api/1bc63ef47011c96e127285ef72dab1e5\n0::/\n");
    expect_none("0::/system.slice/containerd.service\n");
    expect_none("");
}

TEST(ContainerCgroup, NearMissesAreRejected)
{
    expect_none("0::/docker/" + kId.substr(1) + "\n");                         // 63 digits
    expect_none("0::/docker/" + kId + "0\n");                                  // 65
    std::string upper = kId;
    upper[0] = 'E';
    expect_none("0::/docker/" + upper + "\n");                                 // not the kernel's spelling
    expect_none("0::/" + kId + "\n");                                          // a bare id at the top
    expect_none("0::/system.slice/docker-" + kId + ".scopeX\n");
    expect_none("0:/docker/" + kId + "\n");                                   // no path field: one colon
    expect_none("0::/system.slice/x.slice:evil:" + kId + "\n");              // unknown runtime word
    ms_container_info c = parse("0::/kubepods/pod" + kUid.substr(0, 35) + "g/" + kId + "\n");
    EXPECT_FALSE(c.flags & MS_CONTAINER_POD);
    std::string huge(100000, '/');
    expect_none("0::" + huge + "docker/" + kId.substr(2) + "\n");
}

TEST(ContainerCgroup, LongSegmentsAreIgnoredNotCut)
{
    std::string longname(300, 'a');
    expect_container("0::/" + longname + "/docker/" + kId + "\n", MS_RUNTIME_DOCKER);
    expect_none("0::/docker/" + kId + longname + "\n");
}

TEST(ContainerStatus, NspidIsTheInnermostPid)
{
    int64_t v = 0;
    EXPECT_TRUE(ms__status_nspid("Name:\tsleep\nNSpid:\t11800\t1\nNSsid:\t1\n", &v));
    EXPECT_EQ(v, 1);
    EXPECT_TRUE(ms__status_nspid("NSpid:\t42\n", &v));
    EXPECT_EQ(v, 42);
    EXPECT_TRUE(ms__status_nspid("NSpid:\t7\t3\t2", &v));
    EXPECT_EQ(v, 2);
    EXPECT_FALSE(ms__status_nspid("NSpid:\t\n", &v));
    EXPECT_FALSE(ms__status_nspid("NSpid:\t12x\n", &v));
    EXPECT_FALSE(ms__status_nspid("NSpid:\t99999999999\n", &v));
    EXPECT_FALSE(ms__status_nspid("Pid:\t1\n", &v));
}

TEST(ContainerLive, ThisProcessIsSeenWithItsNamespaces)
{
    ms_agent *agent = nullptr;
    ASSERT_EQ(ms_agent_open(&agent), MS_OK);
    ms_container_info c;
    std::memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    ASSERT_EQ(ms_process_container_get(agent, getpid(), &c), MS_OK) << ms_last_error();
    EXPECT_TRUE(c.flags & MS_CONTAINER_CGROUP_READ);
    ASSERT_TRUE(c.flags & MS_CONTAINER_NS_KNOWN);
    EXPECT_FALSE(c.flags & MS_CONTAINER_OTHER_NS);
    struct stat st;
    ASSERT_EQ(stat("/proc/self/ns/pid", &st), 0);
    EXPECT_EQ(c.pid_ns, (uint64_t)st.st_ino);
    ASSERT_EQ(stat("/proc/self/ns/user", &st), 0);
    EXPECT_EQ(c.user_ns, (uint64_t)st.st_ino);
    ASSERT_TRUE(c.flags & MS_CONTAINER_NSPID_KNOWN);
    EXPECT_GT(c.ns_pid, 0);
    // A caller built against a shorter struct gets its prefix only.
    ms_container_info small;
    std::memset(&small, 0x5a, sizeof small);
    small.struct_size = offsetof(ms_container_info, pid_ns);
    ASSERT_EQ(ms_process_container_get(agent, getpid(), &small), MS_OK);
    EXPECT_EQ(small.pid_ns, 0x5a5a5a5a5a5a5a5aull);
    EXPECT_EQ(ms_process_container_get(agent, 0, &c), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_process_container_get(agent, getpid(), nullptr), MS_E_INVALID_ARGUMENT);
    EXPECT_EQ(ms_process_container_get(agent, 999999999, &c), MS_E_NO_SUCH_PROCESS);
    EXPECT_STREQ(ms_container_runtime_name(99), "unknown");
    EXPECT_STREQ(ms_container_runtime_name(MS_RUNTIME_CRIO), "cri-o");
    ms_agent_close(agent);
}
