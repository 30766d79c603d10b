package dev.memsentry.sink;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS context of a syslog+tls sink: the server is trusted through ca=FILE (PEM; default the
 * JVM's trust store), an optional client certificate through cert=FILE and key=FILE (PEM, the key
 * unencrypted PKCS#8, RSA or EC). Files that cannot be read are usage errors.
 */
final class TlsContext {
    private static final int MAX_PEM = 1 << 20;
    private static final Pattern KEY = Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    private TlsContext() {
    }

    static SSLContext of(SinkUri uri) {
        String ca = uri.param("ca");
        String cert = uri.param("cert");
        String key = uri.param("key");
        if ((cert == null) != (key == null)) {
            throw new SinkUriException("sink '" + uri + "': cert and key go together");
        }
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (ca == null) {
                tmf.init((KeyStore) null);
            } else {
                KeyStore trust = KeyStore.getInstance("PKCS12");
                trust.load(null, null);
                int i = 0;
                for (Certificate c : certificates(uri, "ca", ca)) {
                    trust.setCertificateEntry("ca" + i++, c);
                }
                tmf.init(trust);
            }
            javax.net.ssl.KeyManager[] keyManagers = null;
            if (cert != null) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry("client", privateKey(uri, key), new char[0],
                    certificates(uri, "cert", cert).toArray(new Certificate[0]));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, new char[0]);
                keyManagers = kmf.getKeyManagers();
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keyManagers, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new SinkUriException("sink '" + uri + "': TLS setup: " + e.getMessage());
        }
    }

    private static byte[] read(SinkUri uri, String what, String file) {
        try {
            Path p = Path.of(file);
            if (!Files.isRegularFile(p)) {
                throw new SinkUriException("sink '" + uri + "': " + what + " " + file
                    + (Files.exists(p) ? " is not a regular file" : " does not exist"));
            }
            if (Files.size(p) > MAX_PEM) {
                throw new SinkUriException("sink '" + uri + "': " + what + " " + file + " is larger than 1 MiB");
            }
            return Files.readAllBytes(p);
        } catch (IOException | java.nio.file.InvalidPathException e) {
            throw new SinkUriException("sink '" + uri + "': " + what + " " + file + " cannot be read: " + e.getMessage());
        }
    }

    private static Collection<? extends Certificate> certificates(SinkUri uri, String what, String file) {
        try {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(read(uri, what, file)));
            if (certs.isEmpty()) {
                throw new SinkUriException("sink '" + uri + "': " + what + " " + file + " holds no certificate");
            }
            return certs;
        } catch (java.security.cert.CertificateException e) {
            throw new SinkUriException("sink '" + uri + "': " + what + " " + file + " is not a PEM certificate: "
                + e.getMessage());
        }
    }

    private static PrivateKey privateKey(SinkUri uri, String file) {
        Matcher m = KEY.matcher(new String(read(uri, "key", file), StandardCharsets.US_ASCII));
        if (!m.find()) {
            throw new SinkUriException("sink '" + uri + "': key " + file + " is not an unencrypted PKCS#8 PEM key "
                + "(BEGIN PRIVATE KEY; 'openssl pkcs8 -topk8 -nocrypt' converts one)");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(m.group(1)));
        for (String alg : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new SinkUriException("sink '" + uri + "': key " + file + ": not an RSA, EC or Ed25519 key");
    }
}
