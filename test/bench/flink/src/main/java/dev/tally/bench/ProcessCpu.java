package dev.tally.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time of the whole process (every thread), as the bench reads the runtime's: /proc/self/stat utime + stime. */
final class ProcessCpu {
  private ProcessCpu() {}

  /** Clock ticks (USER_HZ) of user plus system time so far. */
  static long ticks() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc/self/stat", e);
    }
  }

  /** Sampled by the source when it decodes the first record (warm-up before it excluded). */
  static volatile long firstRecordTicks = -1;
  static volatile long firstRecordNanos = -1;

  static void markFirstRecord() {
    if (firstRecordTicks < 0) {
      synchronized (ProcessCpu.class) {
        if (firstRecordTicks < 0) {
          firstRecordNanos = System.nanoTime();
          firstRecordTicks = ticks();
        }
      }
    }
  }
}
