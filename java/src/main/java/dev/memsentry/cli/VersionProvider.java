package dev.memsentry.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * The orchestrator's version, from the build: the jar's manifest (read to start the jar anyway;
 * the resource below would cost --version a jar URL connection), else, from a classes directory,
 * the resource Maven filters.
 */
public final class VersionProvider implements IVersionProvider {
    public static String orchestratorVersion() {
        String fromManifest = VersionProvider.class.getPackage().getImplementationVersion();
        if (fromManifest != null) {
            return fromManifest;
        }
        try (InputStream in = VersionProvider.class.getResourceAsStream("/memsentry-version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    @Override
    public String[] getVersion() {
        return new String[] {"memsentry " + orchestratorVersion() + " (Java " + System.getProperty("java.version") + ")"};
    }
}
