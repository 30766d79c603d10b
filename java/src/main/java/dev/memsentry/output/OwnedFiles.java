package dev.memsentry.output;

import dev.memsentry.agent.TrustedCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Where memsentry writes (evidence directories, --out files) must be the running user's alone: a
 * directory another user owns or may write lets that user replace or read the evidence, and an
 * existing output file that is someone else's, writable by others, or hard-linked elsewhere makes
 * root append to a file the other user chose. Each check throws an IOException whose message is
 * one line naming the path and the problem.
 */
public final class OwnedFiles {
    private static final int GROUP_OR_OTHER_WRITE = 0022;

    private OwnedFiles() {
    }

    private static Map<String, Object> attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, "unix:uid,mode,nlink", LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
            return null; // not a POSIX file system (Windows): its ACLs are the platform's business
        }
    }

    private static void requireOwnerOnly(Path p, Map<String, Object> a) throws IOException {
        long uid = ((Integer) a.get("uid")).longValue();
        long self = TrustedCode.effectiveUid();
        if (self >= 0 && uid != self) {
            throw new IOException(p + " is owned by uid " + uid + ", not by the running user (uid " + self + ")");
        }
        int mode = (Integer) a.get("mode");
        if ((mode & GROUP_OR_OTHER_WRITE) != 0) {
            throw new IOException(p + " is writable by group or others (mode "
                + String.format(Locale.ROOT, "%04o", mode & 07777) + ")");
        }
    }

    /** A directory evidence may go to: the running user's and writable by no one else. */
    public static void requirePrivateDirectory(Path dir) throws IOException {
        Map<String, Object> a = attributes(dir);
        if (a != null) {
            requireOwnerOnly(dir, a);
        }
    }

    /**
     * An existing file output may be appended to: the running user's, writable by no one else, and
     * with no other name (a hard link would make the write land in a file someone else chose).
     *
     * @return its file key, to compare with the file actually opened
     */
    public static Object requireOwnFile(Path file) throws IOException {
        Map<String, Object> a = attributes(file);
        if (a != null) {
            requireOwnerOnly(file, a);
            int links = (Integer) a.get("nlink");
            if (links > 1) {
                throw new IOException(file + " has " + links + " hard links (it may be another file under a second name)");
            }
        }
        return Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
            .fileKey();
    }
}
