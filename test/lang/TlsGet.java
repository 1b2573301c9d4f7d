// A Java HTTPS client for test/integration/lang-real-mirror.test.ts: GETs args[0] with the JRE's
// default trust store (/etc/ssl/certs/java/cacerts in the image) and hostname verification, and
// prints the status and body. Compiled (javac --release 17 TlsGet.java) into TlsGet.class, which
// the test copies into the image: the JRE has no compiler.
import java.io.InputStream;
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;

public class TlsGet {
  public static void main(String[] args) throws Exception {
    HttpsURLConnection c = (HttpsURLConnection) new URL(args[0]).openConnection();
    try (InputStream in = c.getInputStream()) {
      System.out.println(c.getResponseCode() + " " + new String(in.readAllBytes(), "UTF-8"));
    }
  }
}
