package dev.kstreamy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The shopping-cart aggregate, ported from apps/shopping_cart/cart.py rule for rule, so the
 * final cart per customer is identical (the harness checks it). The cart is a Jackson tree that
 * the aggregator updates in place: Kafka Streams hands it a freshly deserialized copy each time.
 */
final class CartLogic {
  static final int EVENT_ID_WINDOW = 256;
  static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private CartLogic() {}

  static ObjectNode initialCart(String customerId) {
    ObjectNode cart = F.objectNode();
    cart.put("customerId", customerId);
    cart.put("cartNumber", 1);
    cart.put("status", "OPEN");
    cart.set("lines", F.objectNode());
    cart.set("unknownItems", F.arrayNode());
    cart.put("cartTotal", "0.00");
    cart.put("version", 0);
    cart.putNull("updatedAt");
    cart.set("recentEventIds", F.arrayNode());
    return cart;
  }

  /** Validates the parts of a cart event the aggregate relies on (like parse_event). */
  static JsonNode parseEvent(JsonNode ev) {
    if (ev == null || !ev.isObject()) {
      throw new IllegalArgumentException("a cart event must be a JSON object");
    }
    String type = ev.path("type").asText("");
    switch (type) {
      case "ITEM_ADDED", "ITEM_REMOVED", "CART_CLEARED", "CHECKED_OUT" -> { }
      default -> throw new IllegalArgumentException("unknown event type " + type);
    }
    if (ev.path("v").asInt(-1) != 1) {
      throw new IllegalArgumentException("unsupported schema version");
    }
    UUID.fromString(ev.path("eventId").asText(""));
    if (!ev.path("ts").canConvertToLong() || ev.path("customerId").asText("").isEmpty()) {
      throw new IllegalArgumentException("missing ts or customerId");
    }
    if (type.startsWith("ITEM_")) {
      if (ev.path("itemId").asText("").isEmpty()) {
        throw new IllegalArgumentException("missing itemId");
      }
      JsonNode qty = ev.get("qty");
      boolean needsQty = type.equals("ITEM_ADDED") || (qty != null && !qty.isNull());
      if (needsQty && (qty == null || !qty.isInt() || qty.asInt() < 1 || qty.asInt() > 1000)) {
        throw new IllegalArgumentException("qty must be between 1 and 1000");
      }
    }
    return ev;
  }

  static String money(BigDecimal amount) {
    return amount.setScale(2, RoundingMode.HALF_EVEN).toPlainString();
  }

  static ObjectNode apply(String key, ObjectNode cart, JsonNode ev, JsonNode product) {
    if (cart.path("customerId").asText("").isEmpty()) {
      cart = initialCart(key);
    }
    String customer = ev.get("customerId").asText();
    if (!customer.equals(cart.get("customerId").asText())) {
      throw new IllegalArgumentException("event for " + customer + " keyed to cart of " + key);
    }
    ArrayNode recent = (ArrayNode) cart.get("recentEventIds");
    String eventId = ev.get("eventId").asText();
    for (JsonNode seen : recent) {
      if (seen.asText().equals(eventId)) {
        return cart;
      }
    }
    int oldVersion = cart.get("version").asInt();
    boolean changed =
        switch (ev.get("type").asText()) {
          case "ITEM_ADDED" -> add(cart, ev, product);
          case "ITEM_REMOVED" -> remove(cart, ev);
          case "CART_CLEARED" -> clear(cart);
          default -> checkout(cart);
        };
    recent.add(eventId);
    while (recent.size() > EVENT_ID_WINDOW) {
      recent.remove(0);
    }
    if (changed) {
      ObjectNode lines = (ObjectNode) cart.get("lines");
      BigDecimal total = BigDecimal.ZERO;
      List<String> unknown = new ArrayList<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = lines.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        JsonNode lineTotal = e.getValue().get("lineTotal");
        if (lineTotal != null && !lineTotal.isNull()) {
          total = total.add(new BigDecimal(lineTotal.asText()));
        }
        if (e.getValue().get("unitPrice").isNull()) {
          unknown.add(e.getKey());
        }
      }
      Collections.sort(unknown);
      ArrayNode unknownItems = F.arrayNode();
      unknown.forEach(unknownItems::add);
      cart.put("cartTotal", money(total));
      cart.set("unknownItems", unknownItems);
      cart.put("version", oldVersion + 1);
      cart.put("updatedAt", TS.format(Instant.ofEpochMilli(ev.get("ts").asLong())));
    }
    return cart;
  }

  private static ObjectNode line(int qty, JsonNode name, JsonNode unitPrice) {
    ObjectNode line = F.objectNode();
    line.put("qty", qty);
    line.set("productName", name);
    line.set("unitPrice", unitPrice);
    if (unitPrice.isNull()) {
      line.putNull("lineTotal");
    } else {
      line.put("lineTotal", money(new BigDecimal(unitPrice.asText()).multiply(BigDecimal.valueOf(qty))));
    }
    return line;
  }

  private static boolean add(ObjectNode cart, JsonNode ev, JsonNode product) {
    if (cart.get("status").asText().equals("CHECKED_OUT")) {
      cart.put("cartNumber", cart.get("cartNumber").asInt() + 1);
      cart.put("status", "OPEN");
      cart.set("lines", F.objectNode());
    }
    ObjectNode lines = (ObjectNode) cart.get("lines");
    String item = ev.get("itemId").asText();
    JsonNode old = lines.get(item);
    int qty = ev.get("qty").asInt() + (old == null ? 0 : old.get("qty").asInt());
    JsonNode name;
    JsonNode price;
    if (product != null && !product.isNull()) {
      name = F.textNode(product.get("productName").asText());
      price = F.textNode(money(new BigDecimal(product.get("price").asText())));
    } else if (old != null) {
      name = old.get("productName");
      price = old.get("unitPrice");
    } else {
      name = F.nullNode();
      price = F.nullNode();
    }
    lines.set(item, line(qty, name, price));
    return true;
  }

  private static boolean remove(ObjectNode cart, JsonNode ev) {
    if (cart.get("status").asText().equals("CHECKED_OUT")) {
      return false;
    }
    ObjectNode lines = (ObjectNode) cart.get("lines");
    String item = ev.get("itemId").asText();
    JsonNode old = lines.get(item);
    if (old == null) {
      return false;
    }
    JsonNode q = ev.get("qty");
    int qty = (q == null || q.isNull()) ? 0 : Math.max(0, old.get("qty").asInt() - q.asInt());
    if (qty == 0) {
      lines.remove(item);
    } else {
      lines.set(item, line(qty, old.get("productName"), old.get("unitPrice")));
    }
    return true;
  }

  private static boolean clear(ObjectNode cart) {
    ObjectNode lines = (ObjectNode) cart.get("lines");
    if (cart.get("status").asText().equals("CHECKED_OUT") || lines.isEmpty()) {
      return false;
    }
    cart.set("lines", F.objectNode());
    return true;
  }

  private static boolean checkout(ObjectNode cart) {
    if (cart.get("status").asText().equals("CHECKED_OUT") || cart.get("lines").isEmpty()) {
      return false;
    }
    cart.put("status", "CHECKED_OUT");
    return true;
  }

  /** The cart as published: without the dedup window. */
  static JsonNode publicView(JsonNode cart) {
    ObjectNode view = ((ObjectNode) cart).deepCopy();
    view.remove("recentEventIds");
    return view;
  }
}
