package conf;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
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
 * The shopping-cart aggregator of apps/shopping_cart/topology.py (same operators and names) with
 * the cart rules of apps/shopping_cart/cart.py, for valid events and products only (the
 * conformance generator makes no invalid ones; validation and dead-lettering are not ported).
 * Values are JSON text; the cart JSON keeps the Python dicts' key order.
 */
final class CartApp {
    private CartApp() {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final int EVENT_ID_WINDOW = 256;
    private static final DateTimeFormatter TS =
        DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    record Enriched(JsonNode event, JsonNode product) {}

    static Topology build() {
        StreamsBuilder b = new StreamsBuilder();
        GlobalKTable<String, String> products = b.globalTable("product-details-events",
            Consumed.<String, String>as("products-table"),
            Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("products-global-store"));
        KStream<String, String> events =
            b.stream("cart-events", Consumed.<String, String>as("cart-events-source"));
        KStream<String, JsonNode> parsed =
            events.mapValues(CartApp::parse, Named.as("parse-cart-event"));
        Map<String, KStream<String, JsonNode>> branches = parsed
            .split(Named.as("route-"))
            .branch((k, e) -> isItemEvent(e), Branched.as("item-events"))
            .defaultBranch(Branched.as("cart-events"));
        KStream<String, Enriched> items = branches.get("route-item-events").leftJoin(products,
            (k, e) -> e.get("itemId").asText(),
            (e, p) -> new Enriched(e, p == null ? null : parse(p)),
            Named.as("join-product"));
        KStream<String, Enriched> cartLevel = branches.get("route-cart-events")
            .mapValues(e -> new Enriched(e, null), Named.as("bypass-join"));
        items.merge(cartLevel, Named.as("merge-events"))
            .groupByKey(Grouped.with(Serdes.String(), null))
            .aggregate(() -> text(initialCart("")), CartApp::adder, Named.as("aggregate-cart"),
                Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("cart-store")
                    .withValueSerde(Serdes.String()))
            .toStream(Named.as("cart-updates"))
            .mapValues(CartApp::publicView, Named.as("public-view"))
            .to("cart-details-event", Produced.<String, String>as("cart-details-sink"));
        return b.build();
    }

    static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + text, e);
        }
    }

    static String text(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static boolean isItemEvent(JsonNode e) {
        String type = e.get("type").asText();
        return type.equals("ITEM_ADDED") || type.equals("ITEM_REMOVED");
    }

    static ObjectNode initialCart(String customerId) {
        ObjectNode c = F.objectNode();
        c.put("customerId", customerId);
        c.put("cartNumber", 1);
        c.put("status", "OPEN");
        c.set("lines", F.objectNode());
        c.set("unknownItems", F.arrayNode());
        c.put("cartTotal", "0.00");
        c.put("version", 0);
        c.putNull("updatedAt");
        c.set("recentEventIds", F.arrayNode());
        return c;
    }

    static String publicView(String cartText) {
        ObjectNode cart = (ObjectNode) parse(cartText);
        cart.remove("recentEventIds");
        return text(cart);
    }

    static String money(BigDecimal amount) {
        return amount.setScale(2, RoundingMode.HALF_EVEN).toPlainString();
    }

    static String adder(String key, Enriched value, String cartText) {
        ObjectNode cart = (ObjectNode) parse(cartText);
        if (cart.get("customerId").asText().isEmpty()) {
            cart = initialCart(key);
        }
        return text(apply(cart, value.event(), value.product()));
    }

    static ObjectNode apply(ObjectNode cart, JsonNode event, JsonNode product) {
        if (!event.get("customerId").asText().equals(cart.get("customerId").asText())) {
            throw new IllegalArgumentException("event for another customer");
        }
        String eventId = event.get("eventId").asText();
        List<String> recent = new ArrayList<>();
        cart.get("recentEventIds").forEach(n -> recent.add(n.asText()));
        if (recent.contains(eventId)) {
            return cart;
        }
        ObjectNode changed = switch (event.get("type").asText()) {
            case "ITEM_ADDED" -> add(cart, event, product);
            case "ITEM_REMOVED" -> remove(cart, event);
            case "CART_CLEARED" -> clear(cart);
            case "CHECKED_OUT" -> checkout(cart);
            default -> throw new IllegalArgumentException("unknown type");
        };
        ArrayNode window = F.arrayNode();
        for (String id : recent.subList(Math.max(0, recent.size() - (EVENT_ID_WINDOW - 1)),
                recent.size())) {
            window.add(id);
        }
        window.add(eventId);
        if (changed == null) {
            cart.set("recentEventIds", window);
            return cart;
        }
        ObjectNode lines = (ObjectNode) changed.get("lines");
        BigDecimal total = BigDecimal.ZERO;
        List<String> unknown = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = lines.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> line = it.next();
            if (!line.getValue().get("lineTotal").isNull()) {
                total = total.add(new BigDecimal(line.getValue().get("lineTotal").asText()));
            }
            if (line.getValue().get("unitPrice").isNull()) {
                unknown.add(line.getKey());
            }
        }
        unknown.sort(null);
        changed.put("cartTotal", money(total));
        ArrayNode unknownNode = F.arrayNode();
        unknown.forEach(unknownNode::add);
        changed.set("unknownItems", unknownNode);
        changed.put("version", cart.get("version").asLong() + 1);
        changed.put("updatedAt", TS.format(Instant.ofEpochMilli(event.get("ts").asLong())));
        changed.set("recentEventIds", window);
        return changed;
    }

    static JsonNode lineTotal(long qty, JsonNode unitPrice) {
        return unitPrice.isNull() ? F.nullNode()
            : F.textNode(money(new BigDecimal(unitPrice.asText()).multiply(BigDecimal.valueOf(qty))));
    }

    static ObjectNode add(ObjectNode cart, JsonNode event, JsonNode product) {
        ObjectNode base = cart;
        if (cart.get("status").asText().equals("CHECKED_OUT")) {
            base = initialCart(cart.get("customerId").asText());
            base.put("cartNumber", cart.get("cartNumber").asLong() + 1);
        }
        ObjectNode out = base.deepCopy();
        ObjectNode lines = (ObjectNode) out.get("lines");
        String item = event.get("itemId").asText();
        JsonNode old = lines.get(item);
        long qty = event.get("qty").asLong() + (old != null ? old.get("qty").asLong() : 0);
        JsonNode name;
        JsonNode price;
        if (product != null) {
            name = F.textNode(product.get("productName").asText());
            price = F.textNode(money(new BigDecimal(product.get("price").asText())));
        } else if (old != null) {
            name = old.get("productName");
            price = old.get("unitPrice");
        } else {
            name = F.nullNode();
            price = F.nullNode();
        }
        ObjectNode line = F.objectNode();
        line.put("qty", qty);
        line.set("productName", name);
        line.set("unitPrice", price);
        line.set("lineTotal", lineTotal(qty, price));
        lines.set(item, line);
        return out;
    }

    static ObjectNode remove(ObjectNode cart, JsonNode event) {
        if (cart.get("status").asText().equals("CHECKED_OUT")) {
            return null;
        }
        String item = event.get("itemId").asText();
        JsonNode old = cart.get("lines").get(item);
        if (old == null) {
            return null;
        }
        ObjectNode out = cart.deepCopy();
        ObjectNode lines = (ObjectNode) out.get("lines");
        JsonNode q = event.get("qty");
        long qty = q == null || q.isNull() ? 0 : Math.max(0, old.get("qty").asLong() - q.asLong());
        if (qty == 0) {
            lines.remove(item);
        } else {
            ObjectNode line = ((ObjectNode) old).deepCopy();
            line.put("qty", qty);
            line.set("lineTotal", lineTotal(qty, old.get("unitPrice")));
            lines.set(item, line);
        }
        return out;
    }

    static ObjectNode clear(ObjectNode cart) {
        if (cart.get("status").asText().equals("CHECKED_OUT") || cart.get("lines").isEmpty()) {
            return null;
        }
        ObjectNode out = cart.deepCopy();
        out.set("lines", F.objectNode());
        return out;
    }

    static ObjectNode checkout(ObjectNode cart) {
        if (cart.get("status").asText().equals("CHECKED_OUT") || cart.get("lines").isEmpty()) {
            return null;
        }
        ObjectNode out = cart.deepCopy();
        out.put("status", "CHECKED_OUT");
        return out;
    }
}
