/* YARA through libyara, loaded at run time.
 *
 * libyara is opened with dlopen (soname MS_LIBYARA_SONAME, or the file named
 * by MEMSENTRY_LIBYARA) and the few functions used are resolved with dlsym;
 * its headers are used for types only. That is sound only for the ABI those
 * headers describe (YARA 4.2, soname libyara.so.9), so loading checks it:
 * the compiled-rules format must be the headers' YR_ARENA_FILE_VERSION, and
 * the fields of YR_SCANNER this code reads must sit where the headers put
 * them. Anything else leaves YARA off, with the reason, and the rest of the
 * library works as before. */
#include "../internal.h"
#include "../yara_blocks.h"

#include <memsentry/ms_yara.h>

#include <stdlib.h>
#include <string.h>

#if defined(MS_HAVE_YARA) && !defined(_WIN32)

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yara.h>

#define MS_LIBYARA_SONAME "libyara.so.9"
#define MS_LIBYARA_ENV "MEMSENTRY_LIBYARA"

#define YR_FN(name) __typeof__(&yr_##name) name
static struct yr_api {
    YR_FN(initialize);
    YR_FN(compiler_create);
    YR_FN(compiler_destroy);
    YR_FN(compiler_set_callback);
    YR_FN(compiler_add_file);
    YR_FN(compiler_add_string);
    YR_FN(compiler_get_rules);
    YR_FN(rules_load);
    YR_FN(rules_save_stream);
    YR_FN(rules_destroy);
    YR_FN(scanner_create);
    YR_FN(scanner_destroy);
    YR_FN(scanner_set_callback);
    YR_FN(scanner_set_timeout);
    YR_FN(scanner_set_flags);
    YR_FN(scanner_scan_mem_blocks);
    YR_FN(get_configuration_uint64);
} yr;
#undef YR_FN

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static ms_status load_status = MS_E_UNSUPPORTED;
static char load_detail[400];

typedef struct probe_stream {
    uint8_t head[8];
    size_t len;
} probe_stream;

static size_t probe_write(const void *ptr, size_t size, size_t count, void *user_data)
{
    probe_stream *ps = user_data;
    size_t bytes = size * count;
    size_t room = sizeof ps->head - ps->len;
    memcpy(ps->head + ps->len, ptr, bytes < room ? bytes : room);
    ps->len += bytes < room ? bytes : room;
    return count;
}

static int probe_callback(YR_SCAN_CONTEXT *context, int message, void *message_data, void *user_data)
{
    (void)context, (void)message, (void)message_data, (void)user_data;
    return CALLBACK_CONTINUE;
}

/* Compiles a one-line rule and checks the rules format and the scanner layout. */
static const char *probe_abi(void)
{
    static char why[200];
    YR_COMPILER *compiler = NULL;
    YR_RULES *rules = NULL;
    YR_SCANNER *scanner = NULL;
    const char *problem = NULL;
    if (yr.compiler_create(&compiler) != ERROR_SUCCESS)
        return "yr_compiler_create failed";
    if (yr.compiler_add_string(compiler, "rule memsentry_probe { condition: true }", NULL) != 0 ||
        yr.compiler_get_rules(compiler, &rules) != ERROR_SUCCESS) {
        yr.compiler_destroy(compiler);
        return "libyara cannot compile a trivial rule";
    }
    yr.compiler_destroy(compiler);
    probe_stream ps = {.len = 0};
    YR_STREAM stream = {.user_data = &ps, .read = NULL, .write = probe_write};
    uint32_t version = 0;
    if (yr.rules_save_stream(rules, &stream) != ERROR_SUCCESS || ps.len < 8 || memcmp(ps.head, "YARA", 4) != 0) {
        problem = "libyara did not save rules in the expected format";
    } else {
        version = ps.head[4]; /* the arena header: "YARA", then the format version in one byte */
        if (version != YR_ARENA_FILE_VERSION) {
            snprintf(why, sizeof why, "libyara's rules format is version %" PRIu32 ", memsentry was built for %d (YARA %s)",
                     version, YR_ARENA_FILE_VERSION, YR_VERSION);
            problem = why;
        }
    }
    if (!problem && yr.scanner_create(rules, &scanner) != ERROR_SUCCESS)
        problem = "yr_scanner_create failed";
    if (!problem) {
        int marker;
        yr.scanner_set_callback(scanner, probe_callback, &marker);
        yr.scanner_set_timeout(scanner, 7);
        if (scanner->rules != rules || scanner->callback != probe_callback || scanner->user_data != &marker ||
            scanner->timeout != 7000000000ull)
            problem = "libyara's scanner layout differs from the headers memsentry was built with";
    }
    if (scanner)
        yr.scanner_destroy(scanner);
    yr.rules_destroy(rules);
    return problem;
}

/* Whether root may run the code in path: the file (links resolved) and every
 * directory above it owned by root and writable by nobody else (a sticky
 * directory excepted, where others cannot replace root's entries). The Java
 * side applies the same rule to its own overrides (agent/TrustedCode). */
static bool untrusted_for_root(const char *path, char *why, size_t cap)
{
    if (geteuid() != 0)
        return false;
    char *real = realpath(path, NULL);
    if (!real)
        return false; /* dlopen reports the missing file */
    bool bad = false;
    for (bool file = true; !bad; file = false) {
        struct stat st;
        if (lstat(real, &st) != 0) {
            snprintf(why, cap, "cannot check %s: %s", real, strerror(errno));
            bad = true;
        } else if (st.st_uid != 0) {
            snprintf(why, cap, "%s is owned by uid %u, not root", real, (unsigned)st.st_uid);
            bad = true;
        } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (file || !(st.st_mode & S_ISVTX))) {
            snprintf(why, cap, "%s is writable by group or others", real);
            bad = true;
        }
        char *slash = strrchr(real, '/');
        if (!slash || slash == real)
            break; /* "/" itself is the system's */
        *slash = '\0';
    }
    free(real);
    return bad;
}

static void load_libyara(void)
{
    const char *name = getenv(MS_LIBYARA_ENV);
    if (!name || !*name)
        name = MS_LIBYARA_SONAME;
    char why[300];
    /* A bare soname is searched where the system's libraries are; a path is whatever file it names. */
    if (strchr(name, '/') && untrusted_for_root(name, why, sizeof why)) {
        snprintf(load_detail, sizeof load_detail, "YARA off: refusing to load %s=%s as root: %s", MS_LIBYARA_ENV,
                 name, why);
        return;
    }
    dlerror();
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *err = dlerror();
        snprintf(load_detail, sizeof load_detail, "YARA off: cannot load %s: %s (install libyara9)", name,
                 err ? err : "unknown error");
        return;
    }
    struct {
        const char *symbol;
        void *slot;
    } wanted[] = {
        {"yr_initialize", &yr.initialize},
        {"yr_compiler_create", &yr.compiler_create},
        {"yr_compiler_destroy", &yr.compiler_destroy},
        {"yr_compiler_set_callback", &yr.compiler_set_callback},
        {"yr_compiler_add_file", &yr.compiler_add_file},
        {"yr_compiler_add_string", &yr.compiler_add_string},
        {"yr_compiler_get_rules", &yr.compiler_get_rules},
        {"yr_rules_load", &yr.rules_load},
        {"yr_rules_save_stream", &yr.rules_save_stream},
        {"yr_rules_destroy", &yr.rules_destroy},
        {"yr_scanner_create", &yr.scanner_create},
        {"yr_scanner_destroy", &yr.scanner_destroy},
        {"yr_scanner_set_callback", &yr.scanner_set_callback},
        {"yr_scanner_set_timeout", &yr.scanner_set_timeout},
        {"yr_scanner_set_flags", &yr.scanner_set_flags},
        {"yr_scanner_scan_mem_blocks", &yr.scanner_scan_mem_blocks},
        {"yr_get_configuration_uint64", &yr.get_configuration_uint64},
    };
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        void *sym = dlsym(handle, wanted[i].symbol);
        if (!sym) {
            snprintf(load_detail, sizeof load_detail, "YARA off: %s has no %s (not YARA 4.2)", name, wanted[i].symbol);
            dlclose(handle);
            return;
        }
        memcpy(wanted[i].slot, &sym, sizeof sym); /* function pointers are data pointers on POSIX */
    }
    if (yr.initialize() != ERROR_SUCCESS) {
        snprintf(load_detail, sizeof load_detail, "YARA off: yr_initialize failed in %s", name);
        return; /* libyara stays loaded: a half-initialised library must not be unloaded */
    }
    const char *problem = probe_abi();
    if (problem) {
        snprintf(load_detail, sizeof load_detail, "YARA off: %s: %s", name, problem);
        return;
    }
    /* Stays loaded for the life of the process: libyara keeps global state. */
    snprintf(load_detail, sizeof load_detail, "libyara %s (%s, rules format %d)", YR_VERSION, name,
             YR_ARENA_FILE_VERSION);
    load_status = MS_OK;
}

ms_status ms_yara_available(void)
{
    pthread_once(&load_once, load_libyara);
    if (load_status != MS_OK)
        return ms__fail(load_status, "%s", load_detail);
    return MS_OK;
}

const char *ms_yara_describe(void)
{
    pthread_once(&load_once, load_libyara);
    return load_detail;
}

/* ---- rules ---------------------------------------------------------------- */

struct ms_yara_rules {
    YR_RULES *rules;
    ms_agent *agent;
    atomic_int refs;
    uint32_t count;
};

static ms_status wrap_rules(ms_agent *agent, YR_RULES *rules, ms_yara_rules **out)
{
    ms_yara_rules *r = calloc(1, sizeof *r);
    if (!r) {
        yr.rules_destroy(rules);
        return ms__fail(MS_E_NO_MEMORY, "yara: out of memory");
    }
    r->rules = rules;
    r->agent = agent;
    atomic_init(&r->refs, 1);
    const YR_RULE *rule;
    yr_rules_foreach(rules, rule) r->count++;
    *out = r;
    return MS_OK;
}

static void rules_release(ms_yara_rules *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        yr.rules_destroy(r->rules);
        free(r);
    }
}

void ms_yara_rules_close(ms_yara_rules *rules)
{
    rules_release(rules);
}

ms_status ms_yara_rules_count(const ms_yara_rules *rules, uint32_t *out)
{
    if (!rules || !out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_rules_count: rules and out are required");
    *out = rules->count;
    return MS_OK;
}

static ms_status map_yr_error(int err, const char *what)
{
    switch (err) {
    case ERROR_SUCCESS:
        return MS_OK;
    case ERROR_INSUFFICIENT_MEMORY:
        return ms__fail(MS_E_NO_MEMORY, "%s: out of memory", what);
    case ERROR_COULD_NOT_OPEN_FILE:
    case ERROR_COULD_NOT_MAP_FILE:
        return ms__fail(MS_E_IO, "%s: cannot open or read the file", what);
    case ERROR_INVALID_FILE:
    case ERROR_CORRUPT_FILE:
        return ms__fail(MS_E_MALFORMED, "%s: not a compiled rules file, or a corrupt one", what);
    case ERROR_UNSUPPORTED_FILE_VERSION:
        return ms__fail(MS_E_MALFORMED, "%s: compiled by another YARA version (this is %s)", what, YR_VERSION);
    case ERROR_SCAN_TIMEOUT:
        return ms__fail(MS_E_TIMEOUT, "%s: timed out", what);
    default:
        return ms__fail(MS_E_INTERNAL, "%s: libyara error %d", what, err);
    }
}

ms_status ms_yara_rules_load(ms_agent *agent, const char *path, ms_yara_rules **out)
{
    if (out)
        *out = NULL;
    if (!agent || !path || !out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_rules_load: agent, path and out are required");
    ms_status st = ms_yara_available();
    if (st != MS_OK)
        return st;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int err = errno;
        return ms__fail(err == EACCES ? MS_E_ACCESS_DENIED : MS_E_INVALID_ARGUMENT, "%s: %s", path, strerror(err));
    }
    if (!S_ISREG(sb.st_mode))
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: not a regular file", path);
    YR_RULES *rules = NULL;
    char what[300];
    snprintf(what, sizeof what, "loading %s", path);
    st = map_yr_error(yr.rules_load(path, &rules), what);
    if (st != MS_OK)
        return st;
    return wrap_rules(agent, rules, out);
}

typedef struct compile_ctx {
    ms_agent *agent;
    ms_yara_diagnostic_cb cb;
    void *user_data;
    const char *current_file;
    int errors;
    char first_error[480];
} compile_ctx;

static void compile_callback(int error_level, const char *file_name, int line_number, const YR_RULE *rule,
                             const char *message, void *user_data)
{
    (void)rule;
    compile_ctx *ctx = user_data;
    const char *file = file_name ? file_name : ctx->current_file ? ctx->current_file : "";
    int32_t level = error_level == YARA_ERROR_LEVEL_WARNING ? MS_YARA_DIAG_WARNING : MS_YARA_DIAG_ERROR;
    if (level == MS_YARA_DIAG_ERROR && ctx->errors++ == 0)
        snprintf(ctx->first_error, sizeof ctx->first_error, "%s(%d): %s", file, line_number, message ? message : "");
    ms_yara_diagnostic d = {level, file, line_number, message ? message : ""};
    if (ctx->cb)
        ctx->cb(&d, ctx->user_data);
    else
        ms__log(ctx->agent, level == MS_YARA_DIAG_ERROR ? MS_LOG_ERROR : MS_LOG_WARN, "%s(%d): %s", file, line_number,
                d.message);
}

/* Adds one file; returns its error count, or -1 when it cannot be opened. */
static int add_file(YR_COMPILER *compiler, compile_ctx *ctx, const char *file, const char *ns)
{
    FILE *f = fopen(file, "re");
    if (!f) {
        int err = errno;
        ctx->errors++;
        if (ctx->errors == 1)
            snprintf(ctx->first_error, sizeof ctx->first_error, "%s(0): cannot open: %s", file, strerror(err));
        ms_yara_diagnostic d = {MS_YARA_DIAG_ERROR, file, 0, strerror(err)};
        if (ctx->cb)
            ctx->cb(&d, ctx->user_data);
        return -1;
    }
    ctx->current_file = file;
    int errors = yr.compiler_add_file(compiler, f, ns, file);
    fclose(f);
    return errors;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_rules_suffix(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && strcmp(name + n - 4, ".yar") == 0) || (n > 5 && strcmp(name + n - 5, ".yara") == 0);
}

static void free_list(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

/* The *.yar and *.yara regular files of dir, sorted. */
static ms_status list_rule_files(const char *dir, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ms__fail(errno == EACCES ? MS_E_ACCESS_DENIED : MS_E_IO, "%s: %s", dir, strerror(errno));
    char **files = NULL;
    size_t n = 0, cap = 0;
    ms_status st = MS_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_rules_suffix(e->d_name))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(files, cap * sizeof *grown);
            if (!grown) {
                st = ms__fail(MS_E_NO_MEMORY, "yara: out of memory");
                break;
            }
            files = grown;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        files[n] = malloc(len);
        if (!files[n]) {
            st = ms__fail(MS_E_NO_MEMORY, "yara: out of memory");
            break;
        }
        snprintf(files[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (st != MS_OK) {
        free_list(files, n);
        return st;
    }
    if (n == 0) {
        free(files);
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: no .yar or .yara files in this directory", dir);
    }
    qsort(files, n, sizeof *files, compare_names);
    *out = files;
    *count = n;
    return MS_OK;
}

static ms_status compile_files(ms_agent *agent, const char *const *files, size_t n, const ms_yara_compile_options *o,
                               ms_yara_rules **out)
{
    compile_ctx ctx = {.agent = agent, .cb = o->on_diagnostic, .user_data = o->user_data};
    const char *ns = o->rules_namespace ? o->rules_namespace : "default";
    YR_COMPILER *compiler;
    if (yr.compiler_create(&compiler) != ERROR_SUCCESS)
        return ms__fail(MS_E_NO_MEMORY, "yara: cannot create a compiler");
    yr.compiler_set_callback(compiler, compile_callback, &ctx);
    size_t i = 0;
    for (; i < n; i++)
        if (add_file(compiler, &ctx, files[i], ns) != 0)
            break;
    if (ctx.errors) {
        /* libyara refuses more input once a file failed; the files after it
         * are checked one by one, so every broken file is reported at once. */
        for (i++; i < n; i++) {
            YR_COMPILER *alone;
            if (yr.compiler_create(&alone) != ERROR_SUCCESS)
                break;
            yr.compiler_set_callback(alone, compile_callback, &ctx);
            add_file(alone, &ctx, files[i], ns);
            yr.compiler_destroy(alone);
        }
        yr.compiler_destroy(compiler);
        if (ctx.errors > 1)
            return ms__fail(MS_E_MALFORMED, "%s (and %d more errors)", ctx.first_error, ctx.errors - 1);
        return ms__fail(MS_E_MALFORMED, "%s", ctx.first_error);
    }
    YR_RULES *rules = NULL;
    int err = yr.compiler_get_rules(compiler, &rules);
    yr.compiler_destroy(compiler);
    ms_status st = map_yr_error(err, "compiling rules");
    if (st != MS_OK)
        return st;
    return wrap_rules(agent, rules, out);
}

static bool is_compiled_rules(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return false;
    char magic[4];
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    return n == (ssize_t)sizeof magic && memcmp(magic, "YARA", 4) == 0;
}

ms_status ms_yara_rules_compile(ms_agent *agent, const char *path, const ms_yara_compile_options *opts,
                                ms_yara_rules **out)
{
    if (out)
        *out = NULL;
    if (!agent || !path || !out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_rules_compile: agent, path and out are required");
    ms_yara_compile_options o = {.struct_size = sizeof o};
    if (opts) {
        if (opts->struct_size < sizeof(uint32_t) || opts->struct_size > sizeof o)
            return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_rules_compile: bad struct_size %u", opts->struct_size);
        memcpy(&o, opts, opts->struct_size);
    }
    ms_status st = ms_yara_available();
    if (st != MS_OK)
        return st;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int err = errno;
        return ms__fail(err == EACCES ? MS_E_ACCESS_DENIED : MS_E_INVALID_ARGUMENT, "%s: %s", path, strerror(err));
    }
    if (S_ISDIR(sb.st_mode)) {
        char **files;
        size_t n;
        st = list_rule_files(path, &files, &n);
        if (st != MS_OK)
            return st;
        st = compile_files(agent, (const char *const *)files, n, &o, out);
        free_list(files, n);
        return st;
    }
    if (!S_ISREG(sb.st_mode))
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: neither a rules file nor a directory", path);
    if (is_compiled_rules(path)) {
        if (!(o.flags & MS_YARA_COMPILE_ALLOW_COMPILED))
            return ms__fail(MS_E_INVALID_ARGUMENT,
                            "%s holds compiled rules (yarac output), which libyara does not validate: load them only "
                            "from a trusted source, and say so (--allow-compiled-rules)",
                            path);
        return ms_yara_rules_load(agent, path, out);
    }
    return compile_files(agent, &path, 1, &o, out);
}

/* ---- scanning ------------------------------------------------------------- */

struct ms_yara_scanner {
    ms_yara_rules *rules;
    YR_SCANNER *scanner;
    ms__yara_blocks *blocks;

    /* The scan in progress. */
    int64_t pid;
    ms_yara_match_cb cb;
    void *user_data;
    uint32_t max_string_matches;
    bool stopped;
    ms_status callback_failure;
    uint32_t rules_matched;

    /* Reused between matches. */
    const char **tags;
    size_t tags_cap;
    ms_yara_meta *metas;
    size_t metas_cap;
    ms_yara_string_match *strings;
    size_t strings_cap;
};

ms_status ms_yara_scanner_open(ms_yara_rules *rules, ms_yara_scanner **out)
{
    if (out)
        *out = NULL;
    if (!rules || !out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_scanner_open: rules and out are required");
    ms_yara_scanner *s = calloc(1, sizeof *s);
    if (!s)
        return ms__fail(MS_E_NO_MEMORY, "yara: out of memory");
    ms_status st = map_yr_error(yr.scanner_create(rules->rules, &s->scanner), "creating a scanner");
    if (st == MS_OK)
        st = ms__plat_yara_blocks_new(&s->blocks);
    if (st != MS_OK) {
        if (s->scanner)
            yr.scanner_destroy(s->scanner);
        free(s);
        return st;
    }
    atomic_fetch_add(&rules->refs, 1);
    s->rules = rules;
    *out = s;
    return MS_OK;
}

void ms_yara_scanner_close(ms_yara_scanner *s)
{
    if (!s)
        return;
    yr.scanner_destroy(s->scanner);
    ms__plat_yara_blocks_free(s->blocks);
    rules_release(s->rules);
    free(s->tags);
    free(s->metas);
    free(s->strings);
    free(s);
}

/* Grows *arr to hold at least need items. */
static bool reserve(void **arr, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *grown = realloc(*arr, n * item);
    if (!grown)
        return false;
    *arr = grown;
    *cap = n;
    return true;
}

static int report_rule(ms_yara_scanner *s, YR_SCAN_CONTEXT *context, const YR_RULE *rule)
{
    ms_yara_match m = {.pid = s->pid, .rule = rule->identifier, .rule_namespace = rule->ns->name};
    const char *tag;
    yr_rule_tags_foreach(rule, tag)
    {
        if (!reserve((void **)&s->tags, &s->tags_cap, m.tag_count + 1, sizeof *s->tags))
            goto oom;
        s->tags[m.tag_count++] = tag;
    }
    const YR_META *meta;
    yr_rule_metas_foreach(rule, meta)
    {
        if (!reserve((void **)&s->metas, &s->metas_cap, m.meta_count + 1, sizeof *s->metas))
            goto oom;
        s->metas[m.meta_count++] = (ms_yara_meta){meta->identifier, meta->type, meta->integer,
                                                  meta->type == META_TYPE_STRING && meta->string ? meta->string : ""};
    }
    const YR_STRING *string;
    yr_rule_strings_foreach(rule, string)
    {
        /* yr_string_matches_foreach, reading each YR_MATCH through a copy:
         * libyara's notebook packs them after their data, unaligned. */
        const void *at = context->matches[string->idx].head;
        while (at) {
            YR_MATCH match;
            memcpy(&match, at, sizeof match);
            at = match.next;
            if (match.is_private)
                continue;
            m.string_total++;
            if (m.string_count >= s->max_string_matches)
                continue;
            if (!reserve((void **)&s->strings, &s->strings_cap, m.string_count + 1, sizeof *s->strings))
                goto oom;
            s->strings[m.string_count++] = (ms_yara_string_match){
                string->identifier, (uint64_t)(match.base + match.offset), (uint32_t)match.match_length,
                (uint32_t)match.data_length, match.data};
        }
    }
    m.tags = s->tags;
    m.metas = s->metas;
    m.strings = s->strings;
    s->rules_matched++;
    if (s->cb(&m, s->user_data) != 0) {
        s->stopped = true;
        return CALLBACK_ABORT;
    }
    return CALLBACK_CONTINUE;
oom:
    s->callback_failure = ms__fail(MS_E_NO_MEMORY, "yara: out of memory reporting rule %s", rule->identifier);
    return CALLBACK_ABORT;
}

static int scan_callback(YR_SCAN_CONTEXT *context, int message, void *message_data, void *user_data)
{
    ms_yara_scanner *s = user_data;
    switch (message) {
    case CALLBACK_MSG_RULE_MATCHING:
        /* A pass cut short (the target exited, the deadline) reports nothing. */
        if (ms__plat_yara_blocks_status(s->blocks) != MS_OK)
            return CALLBACK_ABORT;
        return report_rule(s, context, message_data);
    case CALLBACK_MSG_TOO_MANY_MATCHES: {
        const YR_STRING *string = message_data;
        ms__log(s->rules->agent, MS_LOG_WARN, "pid %" PRId64 ": string %s has too many matches; later ones are dropped, as yara does",
                s->pid, string ? string->identifier : "?");
        return CALLBACK_CONTINUE;
    }
    case CALLBACK_MSG_CONSOLE_LOG:
        ms__log(s->rules->agent, MS_LOG_INFO, "pid %" PRId64 ": console: %s", s->pid,
                message_data ? (const char *)message_data : "");
        return CALLBACK_CONTINUE;
    default:
        return CALLBACK_CONTINUE;
    }
}

ms_status ms_yara_scan_process(ms_yara_scanner *s, int64_t pid, const ms_yara_scan_options *opts,
                               ms_yara_match_cb cb, void *user_data, ms_yara_scan_stats *stats)
{
    if (!s || !cb)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_scan_process: scanner and callback are required");
    if (pid <= 0 || pid > INT32_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_scan_process: pid %" PRId64 " out of range", pid);
    if (stats && (stats->struct_size < sizeof(uint32_t) || stats->struct_size > sizeof *stats))
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_scan_process: bad stats struct_size %u", stats->struct_size);
    ms_yara_scan_options o = {.struct_size = sizeof o};
    if (opts) {
        if (opts->struct_size < sizeof(uint32_t) || opts->struct_size > sizeof o)
            return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_scan_process: bad options struct_size %u", opts->struct_size);
        memcpy(&o, opts, opts->struct_size);
    }
    if (o.timeout_seconds > INT32_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_yara_scan_process: timeout too large");
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t max_block = o.max_block_size;
    if (max_block == 0 && yr.get_configuration_uint64(YR_CONFIG_MAX_PROCESS_MEMORY_CHUNK, &max_block) != ERROR_SUCCESS)
        max_block = 1ull << 30;
    if (max_block > SIZE_MAX / 2)
        max_block = SIZE_MAX / 2;
    max_block &= ~(page - 1);
    if (max_block == 0)
        max_block = page;

    uint64_t started = ms__monotonic_ns();
    ms__yara_blocks_config cfg = {
        .max_block = max_block,
        .deadline_ns = o.timeout_seconds ? started + (uint64_t)o.timeout_seconds * 1000000000ull : 0,
        .cancel = o.cancel,
        .streaming = !(o.flags & MS_YARA_SCAN_NO_STREAMING),
    };
    YR_MEMORY_BLOCK_ITERATOR *iterator;
    ms_status st = ms__plat_yara_blocks_attach(s->blocks, s->rules->agent, pid, &cfg, &iterator);
    if (st != MS_OK)
        return st;

    s->pid = pid;
    s->cb = cb;
    s->user_data = user_data;
    s->max_string_matches = o.max_string_matches ? o.max_string_matches : MS_YARA_DEFAULT_MAX_STRING_MATCHES;
    s->stopped = false;
    s->callback_failure = MS_OK;
    s->rules_matched = 0;
    yr.scanner_set_callback(s->scanner, scan_callback, s);
    yr.scanner_set_timeout(s->scanner, (int)o.timeout_seconds);
    /* NO_TRYCATCH: every block lives in memsentry's own anonymous memory, so no
     * access can fault, and libyara must not swap SIGSEGV/SIGBUS handlers under
     * a JVM. REPORT_RULES_MATCHING is what `yara` reports. */
    yr.scanner_set_flags(s->scanner, SCAN_FLAGS_PROCESS_MEMORY | SCAN_FLAGS_REPORT_RULES_MATCHING |
                                         SCAN_FLAGS_NO_TRYCATCH);
    int err = yr.scanner_scan_mem_blocks(s->scanner, iterator);

    ms_status pass = ms__plat_yara_blocks_status(s->blocks);
    char pass_msg[512];
    ms__strlcpy(pass_msg, ms_last_error(), sizeof pass_msg);
    ms_yara_scan_stats local = {.struct_size = sizeof local};
    ms__plat_yara_blocks_detach(s->blocks, &local);
    local.rules_matched = s->rules_matched;
    local.elapsed_ns = ms__monotonic_ns() - started;
    if (stats) {
        uint32_t size = stats->struct_size;
        memcpy(stats, &local, size);
        stats->struct_size = size;
    }

    if (pass != MS_OK)
        return ms__fail(pass, "%s", pass_msg);
    if (s->callback_failure != MS_OK)
        return s->callback_failure;
    if (s->stopped)
        return ms__fail(MS_E_STOPPED, "scan of %" PRId64 " stopped by the callback", pid);
    if (err == ERROR_SCAN_TIMEOUT)
        return ms__fail(MS_E_TIMEOUT, "scan of %" PRId64 " passed its %u s deadline", pid, o.timeout_seconds);
    char what[64];
    snprintf(what, sizeof what, "scanning %" PRId64, pid);
    return map_yr_error(err, what);
}

#else /* built without the libyara headers, or for Windows */

#if defined(_WIN32)
#define MS_YARA_OFF "YARA off: not supported on Windows builds yet"
#else
#define MS_YARA_OFF "YARA off: memsentry was built without the libyara headers (libyara-dev)"
#endif

ms_status ms_yara_available(void)
{
    return ms__fail(MS_E_UNSUPPORTED, MS_YARA_OFF);
}

const char *ms_yara_describe(void)
{
    return MS_YARA_OFF;
}

ms_status ms_yara_rules_compile(ms_agent *agent, const char *path, const ms_yara_compile_options *opts,
                                ms_yara_rules **out)
{
    (void)agent, (void)path, (void)opts;
    if (out)
        *out = NULL;
    return ms_yara_available();
}

ms_status ms_yara_rules_load(ms_agent *agent, const char *path, ms_yara_rules **out)
{
    (void)agent, (void)path;
    if (out)
        *out = NULL;
    return ms_yara_available();
}

void ms_yara_rules_close(ms_yara_rules *rules)
{
    (void)rules;
}

ms_status ms_yara_rules_count(const ms_yara_rules *rules, uint32_t *out)
{
    (void)rules, (void)out;
    return ms_yara_available();
}

ms_status ms_yara_scanner_open(ms_yara_rules *rules, ms_yara_scanner **out)
{
    (void)rules;
    if (out)
        *out = NULL;
    return ms_yara_available();
}

void ms_yara_scanner_close(ms_yara_scanner *scanner)
{
    (void)scanner;
}

ms_status ms_yara_scan_process(ms_yara_scanner *scanner, int64_t pid, const ms_yara_scan_options *opts,
                               ms_yara_match_cb cb, void *user_data, ms_yara_scan_stats *stats)
{
    (void)scanner, (void)pid, (void)opts, (void)cb, (void)user_data, (void)stats;
    return ms_yara_available();
}

#endif
