package dev.memsentry.output;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain text table for terminals: columns padded to their widest cell, the last column left
 * unpadded so long paths do not push the layout. Rows are buffered, so use it for bounded output.
 * Cells are escaped ({@link TerminalText}): names and paths come from the processes listed.
 */
public final class Table {
    private final String[] header;
    private final List<String[]> rows = new ArrayList<>();

    public Table(String... header) {
        this.header = header.clone();
    }

    public void add(Object... cells) {
        if (cells.length != header.length) {
            throw new IllegalArgumentException("expected " + header.length + " cells, got " + cells.length);
        }
        String[] row = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
            row[i] = cells[i] == null ? "" : TerminalText.escape(cells[i].toString());
        }
        rows.add(row);
    }

    public void print(PrintWriter out) {
        int[] width = new int[header.length];
        for (int i = 0; i < header.length; i++) {
            width[i] = header[i].length();
        }
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        printRow(out, header, width);
        for (String[] row : rows) {
            printRow(out, row, width);
        }
        out.flush();
    }

    private static void printRow(PrintWriter out, String[] row, int[] width) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < row.length; i++) {
            if (i > 0) {
                sb.append("  ");
            }
            sb.append(row[i]);
            if (i < row.length - 1) {
                sb.append(" ".repeat(width[i] - row[i].length()));
            }
        }
        out.println(sb.toString().stripTrailing());
    }
}
