package conf;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.BuiltInDslStoreSuppliers;
import org.apache.kafka.streams.test.TestRecord;

/**
 * Reads JSON lines (a file argument, or stdin) and writes one JSON line per input line to stdout.
 *
 * <p>{"describe": "id"} answers {"describe": "id", "text": topology.describe().toString()}.
 * {"list": true} answers {"list": [ids...]}. A scenario {"id", "topology", "caching",
 * "wall_clock_ms", "inputs": [topics], "outputs": {topic: "string"|"long"}, "steps": [...]} answers
 * {"id", "topology", "steps": [[{topic, key, value, timestamp}...] per step], "error"}. A step is
 * {"topic", "key", "value", "timestamp"} (pipe one record) or {"advance_ms": n} (wall clock).
 * After each step every output topic is drained, topics in name order.
 */
public final class Runner {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Runner() {}

    public static void main(String[] args) throws Exception {
        Reader in = args.length > 0
            ? Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)
            : new InputStreamReader(System.in, StandardCharsets.UTF_8);
        try (BufferedReader reader = new BufferedReader(in);
             BufferedWriter out = new BufferedWriter(
                 new OutputStreamWriter(System.out, StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode req = JSON.readTree(line);
                JsonNode answer;
                if (req.has("describe")) {
                    answer = describe(req.get("describe").asText());
                } else if (req.has("list")) {
                    ObjectNode node = JSON.createObjectNode();
                    ArrayNode ids = node.putArray("list");
                    Topologies.ALL.keySet().forEach(ids::add);
                    answer = node;
                } else {
                    answer = run(req);
                }
                out.write(JSON.writeValueAsString(answer));
                out.newLine();
                out.flush();
            }
        }
    }

    static Topology build(String id) {
        var builder = Topologies.ALL.get(id);
        if (builder == null) {
            throw new IllegalArgumentException("unknown topology id " + id);
        }
        return builder.get();
    }

    static ObjectNode describe(String id) {
        ObjectNode node = JSON.createObjectNode();
        node.put("describe", id);
        try {
            node.put("text", build(id).describe().toString());
        } catch (RuntimeException e) {
            node.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        return node;
    }

    static ObjectNode run(JsonNode scenario) {
        ObjectNode result = JSON.createObjectNode();
        result.set("id", scenario.get("id"));
        result.put("topology", scenario.get("topology").asText());
        ArrayNode stepsOut = result.putArray("steps");
        result.putNull("error");

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "conf");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:1234");
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        // In-memory stores behave like RocksDB ones in the driver and keep one JVM fast.
        props.put(StreamsConfig.DSL_STORE_SUPPLIERS_CLASS_CONFIG,
            BuiltInDslStoreSuppliers.InMemoryDslStoreSuppliers.class);
        if (!scenario.path("caching").asBoolean(false)) {
            props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0L);
        }
        Instant wallClock = Instant.ofEpochMilli(scenario.path("wall_clock_ms").asLong(0));

        try (TopologyTestDriver driver =
                 new TopologyTestDriver(build(scenario.get("topology").asText()), props, wallClock)) {
            Map<String, TestInputTopic<String, String>> inputs = new LinkedHashMap<>();
            for (JsonNode topic : scenario.get("inputs")) {
                inputs.put(topic.asText(), driver.createInputTopic(
                    topic.asText(), new StringSerializer(), new StringSerializer()));
            }
            Map<String, TestOutputTopic<String, ?>> outputs = new TreeMap<>();
            Iterator<Map.Entry<String, JsonNode>> fields = scenario.get("outputs").fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> e = fields.next();
                Deserializer<?> valueDe = "long".equals(e.getValue().asText())
                    ? Serdes.Long().deserializer() : new StringDeserializer();
                outputs.put(e.getKey(),
                    driver.createOutputTopic(e.getKey(), new StringDeserializer(), valueDe));
            }
            for (JsonNode step : scenario.get("steps")) {
                ArrayNode produced = stepsOut.addArray();
                try {
                    if (step.has("advance_ms")) {
                        driver.advanceWallClockTime(Duration.ofMillis(step.get("advance_ms").asLong()));
                    } else {
                        TestInputTopic<String, String> topic = inputs.get(step.get("topic").asText());
                        topic.pipeInput(text(step.get("key")), text(step.get("value")),
                            step.get("timestamp").asLong());
                    }
                } finally {
                    drain(outputs, produced);
                }
            }
        } catch (RuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            result.put("error", e.getClass().getSimpleName() + " (" + root.getClass().getSimpleName()
                + ": " + root.getMessage() + ")");
        }
        return result;
    }

    static String text(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    static void drain(Map<String, TestOutputTopic<String, ?>> outputs, ArrayNode produced) {
        for (Map.Entry<String, TestOutputTopic<String, ?>> e : outputs.entrySet()) {
            List<? extends TestRecord<String, ?>> records = new ArrayList<>(e.getValue().readRecordsToList());
            for (TestRecord<String, ?> r : records) {
                ObjectNode rec = produced.addObject();
                rec.put("topic", e.getKey());
                if (r.key() == null) {
                    rec.putNull("key");
                } else {
                    rec.put("key", r.key());
                }
                Object v = r.value();
                if (v == null) {
                    rec.putNull("value");
                } else if (v instanceof Long l) {
                    rec.put("value", l);
                } else {
                    rec.put("value", v.toString());
                }
                rec.put("timestamp", r.timestamp());
            }
        }
    }
}
