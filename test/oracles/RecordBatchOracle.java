// Oracle for Tributary's record-batch codec: Apache Kafka's own record classes
// (org.apache.kafka.common.record.MemoryRecords, DefaultRecordBatch, MemoryRecordsBuilder) decode and
// build message-format v2 record batches, so Tributary's decoder and encoder can be checked against
// Kafka itself, without a broker.
//
// Run with the broker's jars on the classpath (single-file source launch):
//   java -cp "$(bash scripts/kafka.sh classpath)" test/oracles/RecordBatchOracle.java decode FILE...
//   java -cp "$(bash scripts/kafka.sh classpath)" test/oracles/RecordBatchOracle.java encode CODEC IN.jsonl OUT.bin [options]
//   java -cp "$(bash scripts/kafka.sh classpath)" test/oracles/RecordBatchOracle.java produce --topic T --input IN.jsonl [options]
//     (sends records with Kafka's own Java producer; see the GoldenProducer class at the end)
//
// decode FILE...
//   Reads each FILE as back-to-back v2 record batches (a log segment, a Fetch response's records),
//   calls ensureValid() (size and CRC-32C) on every batch and prints JSON lines on stdout:
//     {"type":"batch","position":0,"sizeInBytes":..,"baseOffset":..,"lastOffset":..,"count":..,
//      "magic":2,"attributes":..,"compression":"gzip","isTransactional":false,"isControl":false,
//      "producerId":..,"producerEpoch":..,"baseSequence":..,"lastSequence":..,
//      "timestampType":"CreateTime","baseTimestamp":..,"maxTimestamp":..,
//      "partitionLeaderEpoch":..,"crc":..}
//     {"type":"record","offset":..,"timestamp":..,"key":"<base64>"|null,"value":"<base64>"|null,
//      "headers":[["key","<base64>"|null],...]}
//   Every batch line is followed by the lines of its records. A record's timestamp is what Kafka's
//   reader reports: for a LogAppendTime batch that is the batch's maxTimestamp. Records of control
//   batches also carry "controlType" ("COMMIT", "ABORT", ...) and, for transaction markers,
//   "coordinatorEpoch". With more than one FILE, each file's lines are preceded by
//   {"type":"file","path":"..."}. Exit status 2 when a batch is invalid or a file holds bytes that
//   are not a whole batch.
//
// encode CODEC IN.jsonl OUT.bin [options]
//   CODEC: none | gzip | snappy | lz4 | zstd. Builds batches with MemoryRecordsBuilder and writes them
//   back to back to OUT.bin. IN.jsonl has one JSON object a line (blank lines are skipped):
//     a record   {"key":"<base64>"|null,"value":"<base64>"|null,"headers":[["k","<base64>"|null]],
//                 "timestamp":<ms>|null,"offset":<n>}   (all fields optional: null / [] / the next
//                 offset; a null timestamp is written as -1, "no timestamp")
//     {"flush":true}                          ends the current batch; the next record starts another
//     {"control":"COMMIT"|"ABORT","timestamp":<ms>,"coordinatorEpoch":<n>}
//                                             ends the current batch and writes a transaction-marker
//                                             control batch (one record) at the next offset
//   Options: --base-offset N (0), --producer-id N (-1), --producer-epoch N (-1; 0 with a producer
//   id), --base-sequence N (-1; 0 with a producer id; each batch continues the sequence),
//   --transactional, --log-append-time MS (LogAppendTime batches with that time; else CreateTime),
//   --partition-leader-epoch N (-1), --level N (the codec's compression level).
//   Prints one line: {"batches":..,"records":..,"bytes":..}.
//
// JSON is read and written by hand (no library): output is ASCII, everything else \\u-escaped.
import java.io.IOException;
import java.nio.ByteBuffer;
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
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.DefaultRecordBatch;
import org.apache.kafka.common.record.EndTransactionMarker;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MemoryRecordsBuilder;
import org.apache.kafka.common.record.MutableRecordBatch;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class RecordBatchOracle {
    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("decode")) {
            List<String> files = List.of(args).subList(1, args.length);
            var out = new StringBuilder();
            int status = 0;
            for (String file : files) {
                if (files.size() > 1) out.append("{\"type\":\"file\",\"path\":").append(str(file)).append("}\n");
                status = Math.max(status, decode(Path.of(file), out));
                flush(out);
            }
            flush(out);
            System.exit(status);
        } else if (args.length >= 4 && args[0].equals("encode")) {
            encode(args[1], Path.of(args[2]), Path.of(args[3]), List.of(args).subList(4, args.length));
        } else if (args.length >= 1 && args[0].equals("produce")) {
            GoldenProducer.main(List.of(args).subList(1, args.length).toArray(String[]::new));
        } else {
            System.err.println("usage: RecordBatchOracle decode FILE... | encode CODEC IN.jsonl OUT.bin [options] | produce [options]");
            System.exit(64);
        }
    }

    private static void flush(StringBuilder out) {
        System.out.print(out);
        System.out.flush();
        out.setLength(0);
    }

    // ------------------------------------------------------------------------------------------
    // decode
    // ------------------------------------------------------------------------------------------

    private static int decode(Path file, StringBuilder out) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file));
        MemoryRecords records = MemoryRecords.readableRecords(bytes.duplicate());
        int position = 0;
        for (MutableRecordBatch batch : records.batches()) {
            try {
                batch.ensureValid();
            } catch (RuntimeException e) {
                System.err.println(file + ": batch at byte " + position + " is invalid: " + e);
                return 2;
            }
            short attributes = bytes.getShort(position + 21);
            long baseTimestamp = batch instanceof DefaultRecordBatch d ? d.baseTimestamp() : bytes.getLong(position + 27);
            out.append("{\"type\":\"batch\"")
                .append(",\"position\":").append(position)
                .append(",\"sizeInBytes\":").append(batch.sizeInBytes())
                .append(",\"baseOffset\":").append(batch.baseOffset())
                .append(",\"lastOffset\":").append(batch.lastOffset())
                .append(",\"count\":").append(batch.countOrNull())
                .append(",\"magic\":").append(batch.magic())
                .append(",\"attributes\":").append(attributes)
                .append(",\"compression\":").append(str(batch.compressionType().name))
                .append(",\"isTransactional\":").append(batch.isTransactional())
                .append(",\"isControl\":").append(batch.isControlBatch())
                .append(",\"producerId\":").append(batch.producerId())
                .append(",\"producerEpoch\":").append(batch.producerEpoch())
                .append(",\"baseSequence\":").append(batch.baseSequence())
                .append(",\"lastSequence\":").append(batch.lastSequence())
                .append(",\"timestampType\":").append(str(batch.timestampType().name))
                .append(",\"baseTimestamp\":").append(baseTimestamp)
                .append(",\"maxTimestamp\":").append(batch.maxTimestamp())
                .append(",\"partitionLeaderEpoch\":").append(batch.partitionLeaderEpoch())
                .append(",\"crc\":").append(batch.checksum())
                .append("}\n");
            for (Record record : batch) {
                out.append("{\"type\":\"record\"")
                    .append(",\"offset\":").append(record.offset())
                    .append(",\"timestamp\":").append(record.timestamp())
                    .append(",\"key\":").append(b64(record.key()))
                    .append(",\"value\":").append(b64(record.value()))
                    .append(",\"headers\":[");
                Header[] headers = record.headers();
                for (int i = 0; i < headers.length; i++) {
                    if (i > 0) out.append(',');
                    byte[] value = headers[i].value();
                    out.append('[').append(str(headers[i].key())).append(',')
                        .append(value == null ? "null" : str(Base64.getEncoder().encodeToString(value))).append(']');
                }
                out.append(']');
                if (batch.isControlBatch() && record.key() != null) {
                    ControlRecordType type = ControlRecordType.parse(record.key());
                    out.append(",\"controlType\":").append(str(type.name()));
                    if (type == ControlRecordType.COMMIT || type == ControlRecordType.ABORT) {
                        out.append(",\"coordinatorEpoch\":").append(EndTransactionMarker.deserialize(record).coordinatorEpoch());
                    }
                }
                out.append("}\n");
            }
            position += batch.sizeInBytes();
            if (out.length() > (1 << 20)) flush(out);
        }
        if (position != bytes.limit()) {
            System.err.println(file + ": " + (bytes.limit() - position) + " bytes after the last whole batch (at byte " + position + ")");
            return 2;
        }
        return 0;
    }

    private static String b64(ByteBuffer buffer) {
        if (buffer == null) return "null";
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return str(Base64.getEncoder().encodeToString(bytes));
    }

    // ------------------------------------------------------------------------------------------
    // encode
    // ------------------------------------------------------------------------------------------

    private static void encode(String codec, Path input, Path output, List<String> options) throws IOException {
        long baseOffset = 0, producerId = RecordBatch.NO_PRODUCER_ID, logAppendTime = RecordBatch.NO_TIMESTAMP;
        Short producerEpoch = null;
        Integer baseSequence = null;
        int partitionLeaderEpoch = RecordBatch.NO_PARTITION_LEADER_EPOCH;
        Integer level = null;
        boolean transactional = false;
        for (int i = 0; i < options.size(); i++) {
            String option = options.get(i);
            if (option.equals("--transactional")) { transactional = true; continue; }
            if (i + 1 >= options.size()) throw new IllegalArgumentException(option + " needs a value");
            String value = options.get(++i);
            switch (option) {
                case "--base-offset" -> baseOffset = Long.parseLong(value);
                case "--producer-id" -> producerId = Long.parseLong(value);
                case "--producer-epoch" -> producerEpoch = Short.parseShort(value);
                case "--base-sequence" -> baseSequence = Integer.parseInt(value);
                case "--log-append-time" -> logAppendTime = Long.parseLong(value);
                case "--partition-leader-epoch" -> partitionLeaderEpoch = Integer.parseInt(value);
                case "--level" -> level = Integer.parseInt(value);
                default -> throw new IllegalArgumentException("unknown option " + option);
            }
        }
        boolean hasProducer = producerId != RecordBatch.NO_PRODUCER_ID;
        short epoch = producerEpoch != null ? producerEpoch : hasProducer ? 0 : RecordBatch.NO_PRODUCER_EPOCH;
        int firstSequence = baseSequence != null ? baseSequence : hasProducer ? 0 : RecordBatch.NO_SEQUENCE;
        Compression compression = compression(codec, level);
        TimestampType timestampType = logAppendTime == RecordBatch.NO_TIMESTAMP ? TimestampType.CREATE_TIME : TimestampType.LOG_APPEND_TIME;

        var encoder = new Object() {
            final List<ByteBuffer> batches = new ArrayList<>();
            MemoryRecordsBuilder builder;
            long nextOffset, batchBaseOffset;
            int sequence;
            int totalRecords;

            void close() {
                if (builder == null) return;
                MemoryRecords built = builder.build();
                batches.add(built.buffer());
                builder = null;
                // Sequence numbers follow offset deltas: the next batch continues after this one's last.
                if (sequence != RecordBatch.NO_SEQUENCE) sequence += (int) (nextOffset - batchBaseOffset);
            }
        };
        encoder.nextOffset = baseOffset;
        encoder.sequence = firstSequence;

        int lineNumber = 0;
        for (String line : Files.readAllLines(input, StandardCharsets.UTF_8)) {
            lineNumber++;
            if (line.isBlank()) continue;
            Map<String, Object> object;
            try {
                object = asObject(Json.parse(line), "line");
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(input + ":" + lineNumber + ": " + e.getMessage(), e);
            }
            if (Boolean.TRUE.equals(object.get("flush"))) {
                encoder.close();
            } else if (object.get("control") != null) {
                encoder.close();
                ControlRecordType type = ControlRecordType.valueOf(((String) object.get("control")).toUpperCase());
                long timestamp = object.get("timestamp") == null ? System.currentTimeMillis() : asLong(object.get("timestamp"));
                int coordinatorEpoch = object.get("coordinatorEpoch") == null ? 0 : (int) asLong(object.get("coordinatorEpoch"));
                if (producerId == RecordBatch.NO_PRODUCER_ID) throw new IllegalArgumentException("a control batch needs --producer-id");
                encoder.batches.add(MemoryRecords.withEndTransactionMarker(encoder.nextOffset, timestamp, partitionLeaderEpoch,
                    producerId, epoch, new EndTransactionMarker(type, coordinatorEpoch)).buffer());
                encoder.nextOffset++;
                encoder.totalRecords++;
            } else {
                if (encoder.builder == null) {
                    ByteBuffer buffer = ByteBuffer.allocate(1 << 16);  // MemoryRecordsBuilder grows it as needed
                    encoder.builder = MemoryRecords.builder(buffer, RecordBatch.MAGIC_VALUE_V2, compression, timestampType,
                        encoder.nextOffset, logAppendTime, producerId, epoch, encoder.sequence, transactional, false,
                        partitionLeaderEpoch);
                    encoder.batchBaseOffset = encoder.nextOffset;
                }
                long offset = object.get("offset") == null ? encoder.nextOffset : asLong(object.get("offset"));
                long timestamp = object.get("timestamp") == null ? RecordBatch.NO_TIMESTAMP : asLong(object.get("timestamp"));
                encoder.builder.appendWithOffset(offset, timestamp, bytes(object.get("key")), bytes(object.get("value")),
                    headers(object.get("headers")));
                encoder.nextOffset = offset + 1;
                encoder.totalRecords++;
            }
        }
        encoder.close();
        int size = encoder.batches.stream().mapToInt(ByteBuffer::remaining).sum();
        ByteBuffer all = ByteBuffer.allocate(size);
        for (ByteBuffer batch : encoder.batches) all.put(batch.duplicate());
        Files.write(output, all.array());
        System.out.println("{\"batches\":" + encoder.batches.size() + ",\"records\":" + encoder.totalRecords + ",\"bytes\":" + size + "}");
    }

    private static Compression compression(String codec, Integer level) {
        CompressionType type = CompressionType.forName(codec);
        return switch (type) {
            case NONE -> Compression.NONE;
            case GZIP -> level == null ? Compression.gzip().build() : Compression.gzip().level(level).build();
            case SNAPPY -> Compression.snappy().build();
            case LZ4 -> level == null ? Compression.lz4().build() : Compression.lz4().level(level).build();
            case ZSTD -> level == null ? Compression.zstd().build() : Compression.zstd().level(level).build();
        };
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
    static Map<String, Object> asObject(Object value, String what) {
        if (value instanceof Map<?, ?> map) return (Map<String, Object>) map;
        throw new IllegalArgumentException(what + " must be a JSON object");
    }

    // ------------------------------------------------------------------------------------------
    // JSON
    // ------------------------------------------------------------------------------------------

    /** A JSON string literal; ASCII only (everything outside printable ASCII is \\u-escaped). */
    static String str(String s) {
        var b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20 || c >= 0x7f) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
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

// `produce`, the golden-fixture producer (the class GoldenProducer below): sends an exact list of records to one topic-partition with Apache Kafka's
// own Java producer (org.apache.kafka.clients.producer.KafkaProducer from the broker's jars), so the
// batches the broker stores were built by Kafka's reference client. scripts/golden/capture.ts runs it.
//
// Run (single-file source launch):
//   java -cp "$(bash scripts/kafka.sh classpath)" test/oracles/RecordBatchOracle.java produce \
//     --topic T --input records.jsonl [--partition 0|auto] [--bootstrap 127.0.0.1:9092] \
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
final class GoldenProducer {
    public static void main(String[] args) throws Exception {
        String bootstrap = "127.0.0.1:9092", topic = null, input = null, compression = "none", transactionalId = null;
        String idempotence = null;
        Integer partition = 0; // null ("--partition auto"): Kafka's default partitioner chooses
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
                case "--partition" -> partition = value.equals("auto") ? null : Integer.valueOf(value);
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
                    object = RecordBatchOracle.asObject(RecordBatchOracle.Json.parse(line), "each line");
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
                Long timestamp = object.get("timestamp") == null ? null : RecordBatchOracle.asLong(object.get("timestamp"));
                var record = new ProducerRecord<>(topic, partition, timestamp, RecordBatchOracle.bytes(object.get("key")),
                    RecordBatchOracle.bytes(object.get("value")), List.of(RecordBatchOracle.headers(object.get("headers"))));
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
        System.err.println("usage: RecordBatchOracle produce --topic T --input records.jsonl [--partition N|auto] [--bootstrap host:port]"
            + " [--compression codec] [--linger-ms N] [--batch-size N] [--transactional-id ID] [--idempotence true|false]"
            + " [--config key=value]...");
        System.exit(64);
    }
}
