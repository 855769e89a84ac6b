package dev.loupe.it.cluster;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A second JVM started from this test's classpath, with its output captured line by line, so a
 * test can wait for what it prints and show its log when something goes wrong.
 */
public final class ChildJvm implements AutoCloseable {
  /** Flags Hazelcast asks for on Java 17 to reach JDK internals without warnings. */
  private static final List<String> HAZELCAST_FLAGS = List.of(
      "--add-modules", "java.se",
      "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
      "--add-opens", "java.base/java.lang=ALL-UNNAMED",
      "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens", "java.management/sun.management=ALL-UNNAMED",
      "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED");

  private final Process process;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final StringBuffer log = new StringBuffer();
  private final Writer stdin;

  private ChildJvm(Process process) {
    this.process = process;
    this.stdin = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread pump = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          log.append(line).append('\n');
          lines.add(line);
        }
      } catch (IOException e) {
        log.append("[output closed: ").append(e.getMessage()).append("]\n");
      }
    }, "child-jvm-output");
    pump.setDaemon(true);
    pump.start();
  }

  /** Starts {@code mainClass} with {@code args} in a new JVM on this JVM's classpath, logging at WARN. */
  public static ChildJvm start(String mainClass, List<String> args) throws IOException {
    Path logback = Files.createTempFile("loupe-child-logback", ".xml");
    logback.toFile().deleteOnExit();
    Files.writeString(logback, """
        <configuration>
          <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
            <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
          </appender>
          <root level="WARN"><appender-ref ref="OUT"/></root>
        </configuration>
        """);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(HAZELCAST_FLAGS);
    command.add("-Xmx1g");
    command.add("-Dhazelcast.logging.type=slf4j");
    command.add("-Dai.djl.offline=true");
    command.add("-Dlogback.configurationFile=" + logback);
    command.add("-cp");
    command.add(classpath());
    command.add(mainClass);
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    return new ChildJvm(pb.start());
  }

  /**
   * This JVM's classpath. Under surefire's default manifest-only jar, java.class.path names just
   * the booter jar; surefire publishes the real test classpath in surefire.test.class.path.
   */
  static String classpath() {
    String cp = System.getProperty("java.class.path");
    String surefire = System.getProperty("surefire.test.class.path");
    if (surefire != null && !surefire.isBlank() && (cp == null || !cp.contains(File.pathSeparator))) {
      return surefire;
    }
    return cp;
  }

  /** A TCP port that was free a moment ago. */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Waits for an output line starting with {@code prefix} and returns it.
   *
   * @throws AssertionError with the child's log when the line does not come in time or the child exits
   */
  public String awaitLine(String prefix, long timeout, TimeUnit unit) throws InterruptedException {
    long deadline = System.nanoTime() + unit.toNanos(timeout);
    while (System.nanoTime() < deadline) {
      String line = lines.poll(100, TimeUnit.MILLISECONDS);
      if (line != null && line.startsWith(prefix)) {
        return line;
      }
      if (line == null && !process.isAlive() && lines.isEmpty()) {
        throw new AssertionError("child JVM exited with " + process.exitValue() + " before printing '" + prefix
            + "'; its output:\n" + log);
      }
    }
    throw new AssertionError("child JVM did not print '" + prefix + "' within " + timeout + " " + unit
        + "; its output:\n" + log);
  }

  /** Writes one line to the child's stdin. */
  void send(String line) throws IOException {
    stdin.write(line + "\n");
    stdin.flush();
  }

  /** Waits for the child to exit and returns its exit code, or throws with its log on timeout. */
  public int awaitExit(long timeout, TimeUnit unit) throws InterruptedException {
    if (!process.waitFor(timeout, unit)) {
      throw new AssertionError("child JVM still running after " + timeout + " " + unit + "; its output:\n" + log);
    }
    return process.exitValue();
  }

  public String log() {
    return log.toString();
  }

  /** Kills the child if it still runs. */
  @Override
  public void close() {
    process.destroyForcibly();
  }
}
