package conf;

import java.time.Duration;

import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Processor API twin of topologies.py's CountingProcessor: counts records per key in store
 * "pcounts" (forwarding nothing per record) and, every 10 ms of stream or wall-clock time,
 * forwards every count with the punctuation timestamp.
 */
final class Counting implements Processor<String, String, String, String> {
    private final PunctuationType type;
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, String> store;

    Counting(PunctuationType type) {
        this.type = type;
    }

    @Override
    public void init(ProcessorContext<String, String> context) {
        this.context = context;
        this.store = context.getStateStore("pcounts");
        context.schedule(Duration.ofMillis(10), type, this::punctuate);
    }

    @Override
    public void process(Record<String, String> record) {
        if (record.key() == null) {
            return;
        }
        String old = store.get(record.key());
        store.put(record.key(), String.valueOf(old == null ? 1 : Long.parseLong(old) + 1));
    }

    void punctuate(long timestamp) {
        try (KeyValueIterator<String, String> it = store.all()) {
            while (it.hasNext()) {
                KeyValue<String, String> kv = it.next();
                context.forward(new Record<>(kv.key, kv.value, timestamp));
            }
        }
    }
}
