package dev.kstreamy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Replays cart events through CartLogic without Kafka, for benchmarks/check_cart_port.py.
 * Input lines on stdin: "P\tkey\tproductJson" or "E\tkey\teventJson"; output: one line
 * "key\tpublicViewJson" per customer, sorted by key.
 */
public final class CartReplay {
  private CartReplay() {}

  public static void main(String[] args) throws IOException {
    Map<String, JsonNode> products = new HashMap<>();
    Map<String, ObjectNode> carts = new TreeMap<>();
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] parts = line.split("\t", 3);
      JsonNode value = JsonSerde.MAPPER.readTree(parts[2]);
      if (parts[0].equals("P")) {
        products.put(parts[1], value);
        continue;
      }
      JsonNode event = CartLogic.parseEvent(value);
      JsonNode product =
          event.get("type").asText().startsWith("ITEM_")
              ? products.get(event.get("itemId").asText())
              : null;
      ObjectNode cart = carts.getOrDefault(parts[1], CartLogic.initialCart(""));
      carts.put(parts[1], CartLogic.apply(parts[1], cart, event, product));
    }
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    for (Map.Entry<String, ObjectNode> e : carts.entrySet()) {
      out.println(e.getKey() + "\t" + JsonSerde.MAPPER.writeValueAsString(CartLogic.publicView(e.getValue())));
    }
    out.flush();
  }
}
