package conf;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TableJoined;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The conformance catalogue: every topology by id. tests/conformance/topologies.py builds the same
 * catalogue with kstreamy's DSL; the two must stay line-for-line equivalent (same operators, same
 * names, same functions). Keys and values are Strings (counts are Longs); every function is
 * null-safe so that null keys and values reach Kafka's own handling rather than crashing a lambda.
 */
public final class Topologies {
    private Topologies() {}

    static final Map<String, Supplier<Topology>> ALL = new LinkedHashMap<>();

    // ---------------------------------------------------------------- shared functions

    static boolean odd(String v) {
        return v != null && Integer.parseInt(v) % 2 == 1;
    }

    static String show(String v) {
        return v == null ? "-" : v;
    }

    static String joiner(String left, String right) {
        return show(left) + "+" + show(right);
    }

    static String add(String agg, String v) {
        return v == null ? agg : String.valueOf(Long.parseLong(agg) + Long.parseLong(v));
    }

    static String sub(String agg, String v) {
        return v == null ? agg : String.valueOf(Long.parseLong(agg) - Long.parseLong(v));
    }

    static KeyValue<String, Long> windowedKey(Windowed<String> wk, Long v) {
        return KeyValue.pair(wk.key() + "@" + wk.window().start() + "/" + wk.window().end(), v);
    }

    static KeyValue<String, String> windowedKeyS(Windowed<String> wk, String v) {
        return KeyValue.pair(wk.key() + "@" + wk.window().start() + "/" + wk.window().end(), v);
    }

    static final Produced<String, Long> LONG_OUT = Produced.with(Serdes.String(), Serdes.Long());

    static Topology counting(PunctuationType type) {
        StreamsBuilder b = new StreamsBuilder();
        b.addStateStore(Stores.keyValueStoreBuilder(
            Stores.inMemoryKeyValueStore("pcounts"), Serdes.String(), Serdes.String()));
        b.<String, String>stream("in")
            .process(() -> new Counting(type), Named.as("counting"), "pcounts")
            .to("out");
        return b.build();
    }

    static void def(String id, Supplier<Topology> builder) {
        ALL.put(id, builder);
    }

    static {
        // ------------------------------------------------------------ stateless
        def("filter", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in").filter((k, v) -> odd(v), Named.as("odd-filter")).to("out");
            return b.build();
        });
        def("filter_not", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in").filterNot((k, v) -> v == null).to("out");
            return b.build();
        });
        def("map", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in").map((k, v) -> KeyValue.pair(v, k)).to("out");
            return b.build();
        });
        def("map_values", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .mapValues(v -> v == null ? null : v + "!", Named.as("bang"))
                .to("out", Produced.as("out-sink"));
            return b.build();
        });
        def("flat_map", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .flatMap((k, v) -> {
                    List<KeyValue<String, String>> out = new ArrayList<>();
                    if (v != null) {
                        out.add(KeyValue.pair(k, v));
                        out.add(KeyValue.pair(v, v));
                    }
                    return out;
                }, Named.as("fm"))
                .to("out");
            return b.build();
        });
        def("flat_map_values", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .flatMapValues(v -> {
                    List<String> out = new ArrayList<>();
                    if (v != null) {
                        for (int i = 0; i < Integer.parseInt(v) % 3; i++) {
                            out.add(v + "-" + i);
                        }
                    }
                    return out;
                })
                .to("out");
            return b.build();
        });
        def("merge", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KStream<String, String> left = b.stream("in");
            KStream<String, String> right = b.stream("in2");
            left.merge(right, Named.as("merged")).to("out");
            return b.build();
        });
        def("split", () -> {
            StreamsBuilder b = new StreamsBuilder();
            Map<String, KStream<String, String>> branches = b.<String, String>stream("in")
                .split(Named.as("br-"))
                .branch((k, v) -> odd(v), Branched.as("odd"))
                .branch((k, v) -> v == null, Branched.as("null"))
                .defaultBranch(Branched.as("rest"));
            branches.get("br-odd").to("out-odd");
            branches.get("br-null").to("out-null");
            branches.get("br-rest").to("out-rest");
            return b.build();
        });
        def("peek_filter", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in").peek((k, v) -> { }).filter((k, v) -> k != null).to("out");
            return b.build();
        });
        def("map_values_with_key", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .mapValues((k, v) -> show(k) + ":" + show(v))
                .to("out");
            return b.build();
        });
        def("foreach_and_to", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KStream<String, String> s = b.stream("in");
            s.foreach((k, v) -> { });
            s.filter((k, v) -> v != null).to("out");
            return b.build();
        });
        def("split_no_default", () -> {
            StreamsBuilder b = new StreamsBuilder();
            Map<String, KStream<String, String>> branches = b.<String, String>stream("in")
                .split()
                .branch((k, v) -> odd(v))
                .branch((k, v) -> v != null && !odd(v))
                .noDefaultBranch();
            branches.get("KSTREAM-BRANCH-00000000011").to("out-odd");
            branches.get("KSTREAM-BRANCH-00000000012").to("out-even");
            return b.build();
        });
        def("flat_map_count", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .flatMap((k, v) -> {
                    List<KeyValue<String, String>> out = new ArrayList<>();
                    if (v != null) {
                        out.add(KeyValue.pair(v, v));
                        if (k != null) {
                            out.add(KeyValue.pair(k, v));
                        }
                    }
                    return out;
                })
                .groupByKey()
                .count()
                .toStream()
                .to("out", LONG_OUT);
            return b.build();
        });
        def("repartition", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .repartition(Repartitioned.as("rp"))
                .mapValues(v -> v == null ? null : v + v)
                .to("out");
            return b.build();
        });

        // ------------------------------------------------------------ stream aggregations
        def("count", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .count(Materialized.as("counts"))
                .toStream()
                .to("out", LONG_OUT);
            return b.build();
        });
        def("reduce", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .reduce((agg, v) -> agg + "," + v)
                .toStream()
                .to("out");
            return b.build();
        });
        def("aggregate", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .aggregate(() -> "0", (k, v, agg) -> add(agg, v), Named.as("sum"),
                    Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("sums"))
                .toStream()
                .to("out");
            return b.build();
        });
        def("select_key_count", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .selectKey((k, v) -> v, Named.as("rekey"))
                .groupByKey(Grouped.as("by-value"))
                .count(Materialized.as("value-counts"))
                .toStream()
                .to("out", LONG_OUT);
            return b.build();
        });
        def("group_by_count", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupBy((k, v) -> v)
                .count()
                .toStream()
                .to("out", LONG_OUT);
            return b.build();
        });
        def("to_table", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .toTable(Named.as("totable"),
                    Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("tt"))
                .toStream()
                .to("out");
            return b.build();
        });

        // ------------------------------------------------------------ tables
        def("table_filter_map", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>table("table",
                    Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("tstore"))
                .filter((k, v) -> odd(v), Named.as("tfilter"))
                .mapValues(v -> v + "!", Named.as("tbang"))
                .toStream(Named.as("tstream"))
                .to("out");
            return b.build();
        });
        def("table_filter_not", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>table("table")
                .filterNot((k, v) -> odd(v))
                .toStream()
                .to("out");
            return b.build();
        });
        def("table_group_by_count", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>table("table")
                .groupBy((k, v) -> KeyValue.pair(v, k))
                .count(Materialized.as("tcounts"))
                .toStream()
                .to("out", LONG_OUT);
            return b.build();
        });
        def("table_group_by_aggregate", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>table("table")
                .groupBy((k, v) -> KeyValue.pair(odd(v) ? "odd" : "even", v), Grouped.as("parity"))
                .aggregate(() -> "0", (k, v, agg) -> add(agg, v), (k, v, agg) -> sub(agg, v),
                    Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("parity-sums"))
                .toStream()
                .to("out");
            return b.build();
        });
        def("table_group_by_reduce", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>table("table")
                .groupBy((k, v) -> KeyValue.pair("all", v))
                .reduce((agg, v) -> add(agg, v), (agg, v) -> sub(agg, v))
                .toStream()
                .to("out");
            return b.build();
        });

        def("table_to_stream", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>table("table").toStream().to("out");
            return b.build();
        });
        def("table_map_values_materialized", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>table("table")
                .mapValues(v -> v + "!",
                    Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("mapped"))
                .toStream()
                .to("out");
            return b.build();
        });
        def("count_then_filter", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .count()
                .filter((k, v) -> v % 2 == 0)
                .toStream()
                .to("out", LONG_OUT);
            return b.build();
        });

        // ------------------------------------------------------------ joins
        def("stream_table_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KTable<String, String> table = b.table("table");
            b.<String, String>stream("in")
                .join(table, Topologies::joiner, Joined.as("st-join"))
                .to("out");
            return b.build();
        });
        def("stream_table_left_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KTable<String, String> table = b.table("table");
            b.<String, String>stream("in").leftJoin(table, Topologies::joiner).to("out");
            return b.build();
        });
        def("select_key_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KTable<String, String> table = b.table("table");
            b.<String, String>stream("in")
                .selectKey((k, v) -> v == null ? null : "abc".substring(Integer.parseInt(v) % 3,
                    Integer.parseInt(v) % 3 + 1))
                .join(table, Topologies::joiner)
                .to("out");
            return b.build();
        });
        def("stream_global_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            GlobalKTable<String, String> global = b.globalTable("global");
            b.<String, String>stream("in")
                .join(global, (k, v) -> v, Topologies::joiner, Named.as("sg-join"))
                .to("out");
            return b.build();
        });
        def("stream_global_left_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            GlobalKTable<String, String> global = b.globalTable("global");
            b.<String, String>stream("in")
                .leftJoin(global, (k, v) -> v, Topologies::joiner)
                .to("out");
            return b.build();
        });
        def("table_table_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KTable<String, String> left = b.table("table");
            KTable<String, String> right = b.table("table2");
            left.join(right, Topologies::joiner).toStream().to("out");
            return b.build();
        });
        def("table_table_left_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KTable<String, String> left = b.table("table");
            KTable<String, String> right = b.table("table2");
            left.leftJoin(right, Topologies::joiner, Named.as("tt-left")).toStream().to("out");
            return b.build();
        });
        def("table_table_outer_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KTable<String, String> left = b.table("table");
            KTable<String, String> right = b.table("table2");
            left.outerJoin(right, Topologies::joiner).toStream().to("out");
            return b.build();
        });
        def("fk_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KTable<String, String> left = b.table("left");
            KTable<String, String> right = b.table("right");
            left.join(right, v -> v, Topologies::joiner).toStream().to("out");
            return b.build();
        });
        def("fk_left_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KTable<String, String> left = b.table("left");
            KTable<String, String> right = b.table("right");
            left.leftJoin(right, v -> v, Topologies::joiner, TableJoined.as("fk"))
                .toStream()
                .to("out");
            return b.build();
        });

        // ------------------------------------------------------------ windows
        def("tumbling_count", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(10), Duration.ofMillis(5)))
                .count(Materialized.as("tumbling"))
                .toStream()
                .map(Topologies::windowedKey)
                .to("out", LONG_OUT);
            return b.build();
        });
        def("hopping_count", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(10), Duration.ofMillis(5))
                    .advanceBy(Duration.ofMillis(5)))
                .count()
                .toStream()
                .map(Topologies::windowedKey)
                .to("out", LONG_OUT);
            return b.build();
        });
        def("sliding_count", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(
                    Duration.ofMillis(10), Duration.ofMillis(5)))
                .count()
                .toStream()
                .map(Topologies::windowedKey)
                .to("out", LONG_OUT);
            return b.build();
        });
        def("session_count", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .windowedBy(SessionWindows.ofInactivityGapAndGrace(
                    Duration.ofMillis(10), Duration.ofMillis(5)))
                .count()
                .toStream()
                .map(Topologies::windowedKey)
                .to("out", LONG_OUT);
            return b.build();
        });
        def("tumbling_reduce", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofMillis(10)))
                .reduce((agg, v) -> agg + "," + v)
                .toStream()
                .map(Topologies::windowedKeyS)
                .to("out");
            return b.build();
        });
        def("stream_stream_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KStream<String, String> left = b.stream("in");
            KStream<String, String> right = b.stream("in2");
            left.join(right, Topologies::joiner,
                    JoinWindows.ofTimeDifferenceAndGrace(Duration.ofMillis(10), Duration.ofMillis(5)))
                .to("out");
            return b.build();
        });
        def("stream_stream_left_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KStream<String, String> left = b.stream("in");
            KStream<String, String> right = b.stream("in2");
            left.leftJoin(right, Topologies::joiner,
                    JoinWindows.ofTimeDifferenceAndGrace(Duration.ofMillis(10), Duration.ofMillis(5)))
                .to("out");
            return b.build();
        });
        def("stream_stream_outer_join", () -> {
            StreamsBuilder b = new StreamsBuilder();
            KStream<String, String> left = b.stream("in");
            KStream<String, String> right = b.stream("in2");
            left.outerJoin(right, Topologies::joiner,
                    JoinWindows.ofTimeDifferenceAndGrace(Duration.ofMillis(10), Duration.ofMillis(5)))
                .to("out");
            return b.build();
        });
        def("suppress_window", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
                .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(10), Duration.ofMillis(5)))
                .count(Materialized.as("final-counts"))
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())
                    .withName("final"))
                .toStream()
                .map(Topologies::windowedKey)
                .to("out", LONG_OUT);
            return b.build();
        });
        def("suppress_time_limit", () -> {
            StreamsBuilder b = new StreamsBuilder();
            b.<String, String>stream("in")
                .groupByKey()
                .count()
                .suppress(Suppressed.untilTimeLimit(Duration.ofMillis(20),
                    Suppressed.BufferConfig.unbounded()))
                .toStream()
                .to("out", LONG_OUT);
            return b.build();
        });

        // ------------------------------------------------------------ shopping cart
        // Cart events keyed by customer, value = product id; products is a GlobalKTable of
        // product id -> price. Each customer's cart lists "product@price" entries in order.
        def("shopping_cart", () -> {
            StreamsBuilder b = new StreamsBuilder();
            GlobalKTable<String, String> products = b.globalTable("products",
                Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("products-store"));
            b.<String, String>stream("cart-events")
                .filter((k, v) -> k != null && v != null, Named.as("valid-events"))
                .leftJoin(products, (k, v) -> v,
                    (item, price) -> item + "@" + show(price), Named.as("priced"))
                .groupByKey(Grouped.as("by-customer"))
                .aggregate(() -> "", (k, v, agg) -> agg.isEmpty() ? v : agg + ";" + v,
                    Named.as("cart"),
                    Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("cart-store"))
                .toStream(Named.as("cart-updates"))
                .to("carts", Produced.as("carts-sink"));
            return b.build();
        });
        def("shopping_cart_app", CartApp::build);

        // ------------------------------------------------------------ Processor API
        def("process_stream_punctuate", () -> counting(PunctuationType.STREAM_TIME));
        def("process_wall_punctuate", () -> counting(PunctuationType.WALL_CLOCK_TIME));
    }
}
