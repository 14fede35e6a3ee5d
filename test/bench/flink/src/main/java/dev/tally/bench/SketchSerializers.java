package dev.tally.bench;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.encoding.ByteArrayInput;
import com.datadoghq.sketch.ddsketch.DDSketches;
import com.datadoghq.sketch.ddsketch.mapping.IndexMapping;
import com.datadoghq.sketch.ddsketch.store.UnboundedSizeDenseStore;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.memory.Memory;

/** Checkpoint serializers for the sketches, through their own compact binary forms (not Kryo's field walk). */
final class SketchSerializers {
  private SketchSerializers() {}

  public static final class Hll extends Serializer<HllSketch> implements Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public HllSketch copy(Kryo kryo, HllSketch sketch) {
      return sketch.copy();
    }

    @Override
    public void write(Kryo kryo, Output output, HllSketch sketch) {
      byte[] bytes = sketch.toCompactByteArray();
      output.writeInt(bytes.length);
      output.writeBytes(bytes);
    }

    @Override
    public HllSketch read(Kryo kryo, Input input, Class<? extends HllSketch> type) {
      byte[] bytes = input.readBytes(input.readInt());
      return HllSketch.heapify(Memory.wrap(bytes));
    }
  }

  public static final class DD extends Serializer<DDSketch> implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The accumulators' own mapping: sketches merge only with the same one. */
    private static final IndexMapping MAPPING =
        DDSketches.unboundedDense(Aggregates.DDSKETCH_ALPHA).getIndexMapping();

    @Override
    public DDSketch copy(Kryo kryo, DDSketch sketch) {
      return sketch.copy();
    }

    @Override
    public void write(Kryo kryo, Output output, DDSketch sketch) {
      ByteBuffer buffer = sketch.serialize();
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      output.writeInt(bytes.length);
      output.writeBytes(bytes);
    }

    @Override
    public DDSketch read(Kryo kryo, Input input, Class<? extends DDSketch> type) {
      byte[] bytes = input.readBytes(input.readInt());
      try {
        return DDSketch.decode(
            ByteArrayInput.wrap(bytes),
            UnboundedSizeDenseStore::new,
            MAPPING);
      } catch (IOException e) {
        throw new IllegalStateException("corrupt DDSketch checkpoint state", e);
      }
    }
  }
}
