package dev.kstreamy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** Jackson tree serde: the usual way to carry schema-less JSON through a Kafka Streams app. */
public final class JsonSerde implements Serde<JsonNode> {
  static final ObjectMapper MAPPER = new ObjectMapper();

  private final Serializer<JsonNode> serializer =
      (topic, node) -> {
        if (node == null) {
          return null;
        }
        try {
          return MAPPER.writeValueAsBytes(node);
        } catch (IOException e) {
          throw new SerializationException("cannot write JSON for topic " + topic, e);
        }
      };

  private final Deserializer<JsonNode> deserializer =
      (topic, data) -> {
        if (data == null) {
          return null;
        }
        try {
          return MAPPER.readTree(data);
        } catch (IOException e) {
          throw new SerializationException("value on topic " + topic + " is not JSON", e);
        }
      };

  @Override
  public Serializer<JsonNode> serializer() {
    return serializer;
  }

  @Override
  public Deserializer<JsonNode> deserializer() {
    return deserializer;
  }
}
