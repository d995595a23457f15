// Oracle for the hashing tests: reads one hex-encoded byte string per line from stdin and prints
// "<murmur2> <crc32c>" for each, computed by Apache Kafka's Java client
// (org.apache.kafka.common.utils.Utils.murmur2) and the JDK's java.util.zip.CRC32C.
// Run with the broker's jars on the classpath: java -cp "$(scripts/kafka.sh classpath)" KafkaHashes.java
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.zip.CRC32C;
import org.apache.kafka.common.utils.Utils;

public class KafkaHashes {
    public static void main(String[] args) throws Exception {
        var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        var out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.US_ASCII));
        var hex = HexFormat.of();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            byte[] bytes = hex.parseHex(line.trim());
            var crc = new CRC32C();
            crc.update(bytes);
            out.write(Utils.murmur2(bytes) + " " + crc.getValue() + "\n");
        }
        out.flush();
    }
}
