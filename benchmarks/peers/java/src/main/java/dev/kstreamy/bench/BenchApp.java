package dev.kstreamy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * kstreamy benchmark peer: W1-W4 in plain Kafka Streams. Arguments are the harness's common
 * ones (--workload, --bootstrap, --input, --products, --output, --app-id, --guarantee,
 * --commit-interval-ms, --state-dir). Protocol lines go to stdout (benchmarks/protocol.py).
 */
public final class BenchApp {
  private static final AtomicBoolean FIRST = new AtomicBoolean();

  private BenchApp() {}

  static void emit(String event, String extra) {
    double t = System.currentTimeMillis() / 1000.0;
    System.out.println("{\"event\":\"" + event + "\",\"t\":" + t + extra + "}");
    System.out.flush();
  }

  static void markFirst() {
    if (!FIRST.get() && FIRST.compareAndSet(false, true)) {
      emit("first_consumed", "");
    }
  }

  static Map<String, String> parseArgs(String[] args) {
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      out.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    return out;
  }

  static Topology w1(StreamsBuilder b, Map<String, String> a, Serde<JsonNode> json) {
    b.stream(a.get("input"), Consumed.with(Serdes.String(), json))
        .filter(
            (k, v) -> {
              markFirst();
              return v.get("amount").asInt() >= 100;
            })
        .map(
            (k, v) -> {
              ObjectNode o = JsonSerde.MAPPER.createObjectNode();
              o.put("id", v.get("id").asLong());
              o.put("user", v.get("user").asText());
              o.put("amountCents", v.get("amount").asLong() * 100);
              o.put("country", v.get("country").asText().toLowerCase(Locale.ROOT));
              return KeyValue.pair(k, (JsonNode) o);
            })
        .to(a.get("output"), Produced.with(Serdes.String(), json));
    return b.build();
  }

  static Topology w2(StreamsBuilder b, Map<String, String> a) {
    b.stream(a.get("input"), Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .peek((k, v) -> markFirst())
        .groupByKey(Grouped.with(Serdes.String(), Serdes.ByteArray()))
        .count(
            Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts")
                .withKeySerde(Serdes.String())
                .withValueSerde(Serdes.Long()))
        .toStream()
        .to(a.get("output"), Produced.with(Serdes.String(), Serdes.Long()));
    return b.build();
  }

  static JsonNode enriched(JsonNode event, JsonNode product) {
    ObjectNode o = CartLogic.F.objectNode();
    o.set("event", event);
    o.set("product", product == null ? CartLogic.F.nullNode() : product);
    return o;
  }

  static Topology w3(StreamsBuilder b, Map<String, String> a, Serde<JsonNode> json) {
    GlobalKTable<String, JsonNode> products =
        b.globalTable(
            a.get("products"),
            Consumed.with(Serdes.String(), json),
            Materialized.<String, JsonNode, KeyValueStore<Bytes, byte[]>>as("products-global-store")
                .withKeySerde(Serdes.String())
                .withValueSerde(json));
    KStream<String, JsonNode> parsed =
        b.stream(a.get("input"), Consumed.with(Serdes.String(), json))
            .mapValues(
                v -> {
                  markFirst();
                  return CartLogic.parseEvent(v);
                },
                Named.as("parse-cart-event"));
    Map<String, KStream<String, JsonNode>> branches =
        parsed
            .split(Named.as("split-"))
            .branch((k, v) -> v.get("type").asText().startsWith("ITEM_"), Branched.as("item-events"))
            .defaultBranch(Branched.as("cart-events"));
    KStream<String, JsonNode> items =
        branches
            .get("split-item-events")
            .leftJoin(
                products,
                (k, v) -> v.get("itemId").asText(),
                BenchApp::enriched,
                Named.as("join-product"));
    KStream<String, JsonNode> cartLevel =
        branches.get("split-cart-events").mapValues(v -> enriched(v, null), Named.as("bypass-join"));
    items
        .merge(cartLevel, Named.as("merge-events"))
        .groupByKey(Grouped.with(Serdes.String(), json))
        .aggregate(
            () -> CartLogic.initialCart(""),
            (key, value, cart) ->
                CartLogic.apply(key, (ObjectNode) cart, value.get("event"), value.get("product")),
            Named.as("aggregate-cart"),
            Materialized.<String, JsonNode, KeyValueStore<Bytes, byte[]>>as("cart-store")
                .withKeySerde(Serdes.String())
                .withValueSerde(json))
        .toStream(Named.as("cart-updates"))
        .mapValues(CartLogic::publicView, Named.as("public-view"))
        .to(a.get("output"), Produced.with(Serdes.String(), json));
    return b.build();
  }

  public static void main(String[] args) throws InterruptedException {
    Map<String, String> a = parseArgs(args);
    String workload = a.get("workload");
    Serde<JsonNode> json = new JsonSerde();
    StreamsBuilder builder = new StreamsBuilder();
    Topology topology =
        switch (workload) {
          case "W1" -> w1(builder, a, json);
          case "W2" -> w2(builder, a);
          case "W3", "W4" -> w3(builder, a, json);
          default -> throw new IllegalArgumentException("unknown workload " + workload);
        };
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, a.get("app-id"));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, a.getOrDefault("guarantee", "at_least_once"));
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, a.getOrDefault("commit-interval-ms", "1000"));
    p.put(StreamsConfig.STATE_DIR_CONFIG, a.get("state-dir"));
    p.put(
        StreamsConfig.NUM_STREAM_THREADS_CONFIG,
        System.getenv().getOrDefault("KSTREAMY_BENCH_JAVA_THREADS", "1"));
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    KafkaStreams streams = new KafkaStreams(topology, p);
    CountDownLatch stopped = new CountDownLatch(1);
    streams.setUncaughtExceptionHandler(
        e -> {
          String msg = String.valueOf(e).replace("\\", "\\\\").replace("\"", "'");
          emit("error", ",\"message\":\"" + msg + "\"");
          stopped.countDown();
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  streams.close(Duration.ofSeconds(20));
                  stopped.countDown();
                }));
    streams.start();
    emit("ready", "");
    stopped.await();
  }
}
