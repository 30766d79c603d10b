package dev.memsentry.output;

import java.util.ArrayList;
import java.util.List;

/**
 * A JSON object built a member at a time, in order, and written once through {@link JsonLine}: an
 * alert's details. The calls are those of Jackson's ObjectNode (put, putArray, putObject; a second
 * put of a name replaces its value in place), the members are held as plain values (String, Long,
 * Boolean, nested objects and arrays), so that writing an alert is a few type checks per member,
 * not a walk of a node tree through Jackson's classes. Not thread-safe.
 */
public final class JsonFields {
    private final List<String> names = new ArrayList<>(8);
    private final List<Object> values = new ArrayList<>(8); // null, String, Long, Boolean, JsonFields, Array

    /** A string member; null is written as JSON null. */
    public JsonFields put(String name, String value) {
        return member(name, value);
    }

    public JsonFields put(String name, long value) {
        return member(name, value);
    }

    public JsonFields put(String name, boolean value) {
        return member(name, value);
    }

    /** A new array member, to add to. */
    public Array putArray(String name) {
        Array a = new Array();
        member(name, a);
        return a;
    }

    /** A new object member, to put into. */
    public JsonFields putObject(String name) {
        JsonFields o = new JsonFields();
        member(name, o);
        return o;
    }

    /** An object member made elsewhere. */
    public JsonFields set(String name, JsonFields value) {
        return member(name, value);
    }

    /** An array member made elsewhere. */
    public JsonFields set(String name, Array value) {
        return member(name, value);
    }

    public boolean has(String name) {
        return names.contains(name);
    }

    public boolean isEmpty() {
        return names.isEmpty();
    }

    /** The value of a member (String, Long, Boolean, JsonFields or Array), null if absent or null. */
    public Object get(String name) {
        int i = names.indexOf(name);
        return i < 0 ? null : values.get(i);
    }

    public void write(JsonLine g) {
        g.startObject();
        writeMembers(g);
        g.endObject();
    }

    /** The members alone, into an object g has open. */
    public void writeMembers(JsonLine g) {
        for (int i = 0, n = names.size(); i < n; i++) {
            g.name(names.get(i));
            value(g, values.get(i));
        }
    }

    @Override
    public String toString() {
        JsonLine g = new JsonLine();
        write(g);
        return g.toString();
    }

    private JsonFields member(String name, Object value) {
        int i = names.indexOf(name);
        if (i >= 0) {
            values.set(i, value);
        } else {
            names.add(name);
            values.add(value);
        }
        return this;
    }

    private static void value(JsonLine g, Object v) {
        if (v instanceof String s) {
            g.string(s);
        } else if (v instanceof Long n) {
            g.number(n);
        } else if (v instanceof Boolean b) {
            g.bool(b);
        } else if (v instanceof JsonFields o) {
            o.write(g);
        } else if (v instanceof Array a) {
            a.write(g);
        } else {
            g.nul();
        }
    }

    /** An array member: strings, numbers and objects, in order. */
    public static final class Array {
        private final List<Object> items = new ArrayList<>();

        public int size() {
            return items.size();
        }

        /** The element at i (String, Long or JsonFields). */
        public Object get(int i) {
            return items.get(i);
        }

        public Array add(String value) {
            items.add(value);
            return this;
        }

        public Array add(long value) {
            items.add(value);
            return this;
        }

        /** A new object element, to put into. */
        public JsonFields addObject() {
            JsonFields o = new JsonFields();
            items.add(o);
            return o;
        }

        private void write(JsonLine g) {
            g.startArray();
            for (int i = 0, n = items.size(); i < n; i++) {
                value(g, items.get(i));
            }
            g.endArray();
        }
    }
}
