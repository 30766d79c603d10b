/* Evidence files on Windows: what mode 0600, O_EXCL|O_NOFOLLOW and "temp
 * name then rename" are on Linux. A dump holds the target's secrets, so the
 * file gets a protected DACL granting only the current user, is created
 * under a temporary name that cannot already exist (CREATE_NEW, which also
 * refuses a link planted under that name), and gets its final name only once
 * complete; without force an existing final name is never replaced, and a
 * link (reparse point) there is refused even with force. */
#ifndef MS_WIN_EVIDENCE_H
#define MS_WIN_EVIDENCE_H

#include "win.h"

typedef struct ms_win_evidence {
    HANDLE file;
    wchar_t *final_path;
    wchar_t *temp_path;
    bool force;
} ms_win_evidence;

/* Refuses (MS_E_EXISTS) when path exists and force is off, or names a link;
 * then creates the temporary file next to it. On success close the evidence
 * with exactly one of ms__win_evidence_commit or ms__win_evidence_abort. */
ms_status ms__win_evidence_open(const char *utf8_path, bool force, ms_win_evidence *ev);

/* Writes len bytes; MS_E_NO_SPACE on a full disk, MS_E_IO otherwise. */
ms_status ms__win_evidence_write(ms_win_evidence *ev, const void *data, size_t len);

/* Flushes, closes and renames the file to its final name. On failure the
 * temporary file is removed. */
ms_status ms__win_evidence_commit(ms_win_evidence *ev);

/* Closes and deletes the temporary file. Accepts an evidence never opened
 * (zeroed) or already finished. */
void ms__win_evidence_abort(ms_win_evidence *ev);

/* MS_E_NO_SPACE when the volume holding utf8_path has fewer than need bytes free. */
ms_status ms__win_check_free_space(const char *utf8_path, uint64_t need);

/* UTF-8 to a freshly allocated UTF-16 string (free with free()); NULL with
 * MS_E_INVALID_ARGUMENT set for invalid UTF-8, MS_E_NO_MEMORY. */
wchar_t *ms__win_wide(const char *utf8, ms_status *st);

#endif
