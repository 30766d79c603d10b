package dev.memsentry.detect.yara;

/** One compiler message: its level, the rules file and line it is about, and the text. */
public record YaraDiagnostic(Level level, String file, int line, String message) {
    public enum Level { ERROR, WARNING }

    /** "FILE(LINE): MESSAGE", the form yara and compilers use. */
    @Override
    public String toString() {
        return file + "(" + line + "): " + (level == Level.WARNING ? "warning: " : "") + message;
    }
}
