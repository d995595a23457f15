// Golden-fixture producer: sends an exact list of records to one topic-partition with Apache Kafka's
// own Java producer (org.apache.kafka.clients.producer.KafkaProducer from the broker's jars), so the
// batches the broker stores were built by Kafka's reference client. scripts/golden/capture.ts runs it.
//
// Run (single-file source launch):
//   java -cp "$(bash scripts/kafka.sh classpath)" test/oracles/GoldenProducer.java \
//     --topic T --input records.jsonl [--partition 0] [--bootstrap 127.0.0.1:9092] \
//     [--compression none|gzip|snappy|lz4|zstd] [--linger-ms 600000] [--batch-size 1048576] \
//     [--transactional-id ID] [--idempotence true|false] [--config key=value]...
//
// records.jsonl holds one JSON object a line (blank lines are skipped):
//   a record   {"key":"<base64>"|null,"value":"<base64>"|null,"headers":[["k","<base64>"|null],...],
//               "timestamp":<ms>|null}   (null timestamp: the producer stamps the send time)
//   {"control":"flush"}                      producer.flush(): sends what is buffered, so the next
//                                            record starts a new batch
//   {"control":"begin"|"commit"|"abort"}     begin / commit / abort a transaction (needs
//                                            --transactional-id; "abort" flushes first, so the
//                                            aborted records reach the log before the marker)
// With a long linger (the default here, 10 minutes) and a large batch.size, every record between two
// flushes lands in one batch (a record bigger than batch.size gets a batch of its own).
//
// Prints, after everything is acknowledged, one JSON line per record in input order:
//   {"index":<n>,"partition":<p>,"offset":<o>,"timestamp":<ms>}
// (the timestamp the batch carries for it: the producer's, or the broker's for LogAppendTime).
// Exit status 1 when a send fails. Logging: warnings on stderr when run with
// -Dlog4j2.configurationFile=scripts/kafka/log4j2-tools.xml.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class GoldenProducer {
    public static void main(String[] args) throws Exception {
        String bootstrap = "127.0.0.1:9092", topic = null, input = null, compression = "none", transactionalId = null;
        String idempotence = null;
        int partition = 0;
        long lingerMs = 600_000;
        int batchSize = 1 << 20;
        Map<String, String> extra = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (i + 1 >= args.length) usage(option + " needs a value");
            String value = args[++i];
            switch (option) {
                case "--bootstrap" -> bootstrap = value;
                case "--topic" -> topic = value;
                case "--partition" -> partition = Integer.parseInt(value);
                case "--input" -> input = value;
                case "--compression" -> compression = value;
                case "--linger-ms" -> lingerMs = Long.parseLong(value);
                case "--batch-size" -> batchSize = Integer.parseInt(value);
                case "--transactional-id" -> transactionalId = value;
                case "--idempotence" -> idempotence = value;
                case "--config" -> {
                    int eq = value.indexOf('=');
                    if (eq < 1) usage("--config needs key=value");
                    extra.put(value.substring(0, eq), value.substring(eq + 1));
                }
                default -> usage("unknown option " + option);
            }
        }
        if (topic == null || input == null) usage("--topic and --input are required");

        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "tributary-golden-producer");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        props.put(ProducerConfig.LINGER_MS_CONFIG, Long.toString(lingerMs));
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(batchSize));
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.toString(Integer.MAX_VALUE));
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        if (idempotence != null) props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, idempotence);
        if (transactionalId != null) props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        props.putAll(extra);

        List<Future<RecordMetadata>> acks = new ArrayList<>();
        try (var producer = new KafkaProducer<byte[], byte[]>(props)) {
            if (transactionalId != null) producer.initTransactions();
            int lineNumber = 0;
            for (String line : Files.readAllLines(Path.of(input), StandardCharsets.UTF_8)) {
                lineNumber++;
                if (line.isBlank()) continue;
                Map<String, Object> object;
                try {
                    object = asObject(Json.parse(line));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(input + ":" + lineNumber + ": " + e.getMessage(), e);
                }
                Object control = object.get("control");
                if (control != null) {
                    switch ((String) control) {
                        case "flush" -> producer.flush();
                        case "begin" -> producer.beginTransaction();
                        case "commit" -> producer.commitTransaction();
                        case "abort" -> { producer.flush(); producer.abortTransaction(); }
                        default -> throw new IllegalArgumentException(input + ":" + lineNumber + ": unknown control " + control);
                    }
                    continue;
                }
                Long timestamp = object.get("timestamp") == null ? null : asLong(object.get("timestamp"));
                var record = new ProducerRecord<>(topic, partition, timestamp, bytes(object.get("key")),
                    bytes(object.get("value")), List.of(headers(object.get("headers"))));
                acks.add(producer.send(record));
            }
            producer.flush();
            var out = new StringBuilder();
            for (int i = 0; i < acks.size(); i++) {
                RecordMetadata metadata;
                try {
                    metadata = acks.get(i).get();
                } catch (ExecutionException e) {
                    System.err.println("record " + i + " failed: " + e.getCause());
                    System.exit(1);
                    return;
                }
                out.append("{\"index\":").append(i)
                    .append(",\"partition\":").append(metadata.partition())
                    .append(",\"offset\":").append(metadata.offset())
                    .append(",\"timestamp\":").append(metadata.timestamp())
                    .append("}\n");
            }
            System.out.print(out);
            System.out.flush();
        }
    }

    private static void usage(String problem) {
        System.err.println("GoldenProducer: " + problem);
        System.err.println("usage: GoldenProducer --topic T --input records.jsonl [--partition N] [--bootstrap host:port]"
            + " [--compression codec] [--linger-ms N] [--batch-size N] [--transactional-id ID] [--idempotence true|false]"
            + " [--config key=value]...");
        System.exit(64);
    }

    static byte[] bytes(Object base64) {
        if (base64 == null) return null;
        if (!(base64 instanceof String s)) throw new IllegalArgumentException("expected a base64 string or null, got " + base64);
        return Base64.getDecoder().decode(s);
    }

    static Header[] headers(Object value) {
        if (value == null) return new Header[0];
        if (!(value instanceof List<?> list)) throw new IllegalArgumentException("headers must be an array");
        Header[] headers = new Header[list.size()];
        for (int i = 0; i < headers.length; i++) {
            if (!(list.get(i) instanceof List<?> pair) || pair.size() != 2 || !(pair.get(0) instanceof String key)) {
                throw new IllegalArgumentException("a header must be [\"key\", \"<base64>\"|null]");
            }
            headers[i] = new RecordHeader(key, bytes(pair.get(1)));
        }
        return headers;
    }

    static long asLong(Object value) {
        if (value instanceof Long l) return l;
        throw new IllegalArgumentException("expected an integer, got " + value);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asObject(Object value) {
        if (value instanceof Map<?, ?> map) return (Map<String, Object>) map;
        throw new IllegalArgumentException("each line must be a JSON object");
    }

    /** A small strict JSON parser: objects (insertion-ordered maps), arrays, strings, Long/Double, booleans, null. */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) { this.s = s; }

        static Object parse(String text) {
            Json p = new Json(text);
            p.ws();
            Object value = p.value();
            p.ws();
            if (p.i != text.length()) throw p.error("unexpected trailing characters");
            return value;
        }

        private RuntimeException error(String message) {
            return new IllegalArgumentException("JSON: " + message + " at character " + i);
        }

        private void ws() {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\n' || s.charAt(i) == '\r')) i++;
        }

        private Object value() {
            if (i >= s.length()) throw error("unexpected end");
            char c = s.charAt(i);
            switch (c) {
                case '{': return object();
                case '[': return array();
                case '"': return string();
                case 't': literal("true"); return Boolean.TRUE;
                case 'f': literal("false"); return Boolean.FALSE;
                case 'n': literal("null"); return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw error("unexpected '" + c + "'");
            }
        }

        private void literal(String word) {
            if (!s.startsWith(word, i)) throw error("expected " + word);
            i += word.length();
        }

        private Map<String, Object> object() {
            var map = new LinkedHashMap<String, Object>();
            i++;
            ws();
            if (i < s.length() && s.charAt(i) == '}') { i++; return map; }
            while (true) {
                ws();
                if (i >= s.length() || s.charAt(i) != '"') throw error("expected a member name");
                String key = string();
                ws();
                if (i >= s.length() || s.charAt(i) != ':') throw error("expected ':'");
                i++;
                ws();
                map.put(key, value());
                ws();
                if (i >= s.length()) throw error("unexpected end");
                char c = s.charAt(i++);
                if (c == '}') return map;
                if (c != ',') throw error("expected ',' or '}'");
            }
        }

        private List<Object> array() {
            var list = new ArrayList<Object>();
            i++;
            ws();
            if (i < s.length() && s.charAt(i) == ']') { i++; return list; }
            while (true) {
                ws();
                list.add(value());
                ws();
                if (i >= s.length()) throw error("unexpected end");
                char c = s.charAt(i++);
                if (c == ']') return list;
                if (c != ',') throw error("expected ',' or ']'");
            }
        }

        private String string() {
            i++;  // opening quote
            var b = new StringBuilder();
            while (true) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c < 0x20) throw error("control character in string");
                if (c != '\\') { b.append(c); continue; }
                if (i >= s.length()) throw error("unterminated escape");
                char e = s.charAt(i++);
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length()) throw error("short \\u escape");
                        try {
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        } catch (NumberFormatException ex) {
                            throw error("bad \\u escape");
                        }
                        i += 4;
                    }
                    default -> throw error("bad escape \\" + e);
                }
            }
        }

        private Object number() {
            int start = i;
            if (s.charAt(i) == '-') i++;
            int digits = i;
            while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
            if (i == digits) throw error("expected digits");
            if (s.charAt(digits) == '0' && i - digits > 1) throw error("leading zero");
            boolean integral = true;
            if (i < s.length() && s.charAt(i) == '.') {
                integral = false;
                i++;
                int fraction = i;
                while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
                if (i == fraction) throw error("expected fraction digits");
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                integral = false;
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) i++;
                int exponent = i;
                while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
                if (i == exponent) throw error("expected exponent digits");
            }
            String text = s.substring(start, i);
            if (!integral) return Double.parseDouble(text);
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw error("integer out of range: " + text);
            }
        }
    }
}
