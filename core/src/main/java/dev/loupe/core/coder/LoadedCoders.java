package dev.loupe.core.coder;

import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sparse coders read from disk and kept for reuse by interactive queries (a prompt run that asks
 * for latent activations reads the same coder again and again). At most {@code maxEntries} stay
 * loaded, least recently used first out; a coder in use is freed only once its last lease
 * closes, and a directory rewritten on disk (a newer {@code sae_weights.safetensors}) is read
 * again. Thread-safe.
 */
public final class LoadedCoders implements AutoCloseable {
  private final int maxEntries;
  /** Guarded by {@code this}; access order, so the eldest is the least recently used. */
  private final Map<Path, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);
  private boolean closed;

  /** @param maxEntries coders kept loaded at once (at least 1) */
  public LoadedCoders(int maxEntries) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries must be >= 1, got " + maxEntries);
    }
    this.maxEntries = maxEntries;
  }

  /** A loaded coder held for one use; close it when done (the coder stays cached). */
  public static final class Lease implements AutoCloseable {
    private final Slot slot;
    private boolean released;

    private Lease(Slot slot) {
      this.slot = slot;
    }

    public SparseCoder coder() {
      return slot.loaded.coder();
    }

    public SparseCoderFiles.CoderInfo info() {
      return slot.loaded.info();
    }

    @Override
    public void close() {
      synchronized (slot.owner) {
        if (!released) {
          released = true;
          slot.leases--;
          if (slot.evicted && slot.leases == 0) {
            slot.manager.close();
          }
        }
      }
    }
  }

  private static final class Slot {
    final LoadedCoders owner;
    final NDManager manager;
    final SparseCoderFiles.Loaded loaded;
    final FileTime stamp;
    int leases;
    boolean evicted;

    Slot(LoadedCoders owner, NDManager manager, SparseCoderFiles.Loaded loaded, FileTime stamp) {
      this.owner = owner;
      this.manager = manager;
      this.loaded = loaded;
      this.stamp = stamp;
    }
  }

  /**
   * The coder in {@code dir} (SAELens layout), loaded now or reused.
   *
   * @throws IOException when the directory holds no readable coder (the message names the file)
   * @throws IllegalStateException when this cache is closed
   */
  public Lease acquire(Path dir) throws IOException {
    Path key = dir.toAbsolutePath().normalize();
    FileTime stamp = Files.getLastModifiedTime(key.resolve(SparseCoderFiles.WEIGHTS));
    synchronized (this) {
      checkOpen();
      Slot s = slots.get(key);
      if (s != null && s.stamp.equals(stamp)) {
        s.leases++;
        return new Lease(s);
      }
    }
    // Read outside the lock: a large coder takes a while, and other coders need not wait.
    NDManager manager = NDManager.newBaseManager();
    SparseCoderFiles.Loaded loaded;
    try {
      loaded = SparseCoderFiles.load(manager, key);
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw e;
    }
    synchronized (this) {
      if (closed) {
        manager.close();
        checkOpen();
      }
      Slot fresh = new Slot(this, manager, loaded, stamp);
      fresh.leases = 1;
      Slot old = slots.put(key, fresh);
      if (old != null) {
        evict(old);
      }
      Iterator<Map.Entry<Path, Slot>> it = slots.entrySet().iterator();
      while (slots.size() > maxEntries && it.hasNext()) {
        Map.Entry<Path, Slot> eldest = it.next();
        if (eldest.getValue() != fresh) {
          it.remove();
          evict(eldest.getValue());
        }
      }
      return new Lease(fresh);
    }
  }

  /** How many coders are loaded now (for tests and the health page). */
  public synchronized int size() {
    return slots.size();
  }

  private void evict(Slot s) {
    s.evicted = true;
    if (s.leases == 0) {
      s.manager.close();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the coder cache is closed");
    }
  }

  /** Frees every coder not in use now, and each other one when its last lease closes. */
  @Override
  public synchronized void close() {
    closed = true;
    slots.values().forEach(this::evict);
    slots.clear();
  }
}
