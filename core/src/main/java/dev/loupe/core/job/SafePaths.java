package dev.loupe.core.job;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Resolves file names that come from outside (HTTP requests, WebSocket messages) inside a root
 * directory, so that nothing outside it can be read or written: relative names only, no
 * {@code ..} or empty segments, no backslashes or control characters, and, for names that exist,
 * a real path (symbolic links followed) that is still under the root's real path.
 */
public final class SafePaths {
  /** Job ids as the job manager accepts them; also names of result files without {@code .json}. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final int MAX_LENGTH = 1024;

  private SafePaths() {
  }

  /**
   * Checks that {@code name} is a plain name ({@link #NAME}: letters, digits, '.', '_', '-', not
   * starting with '.' or '-').
   *
   * @throws IllegalArgumentException naming {@code field} and the value when it is not
   */
  public static String name(String field, String name) {
    if (name == null || !NAME.matcher(name).matches() || name.equals("..")) {
      throw new IllegalArgumentException("'" + field + "': '" + abbreviate(name)
          + "' is not a valid name (letters, digits, '.', '_', '-', at most 128, not starting with '.' or '-')");
    }
    return name;
  }

  /**
   * Resolves a relative {@code name} ({@code a/b/c.json}) inside {@code root} without touching the
   * file system (for names that may not exist yet).
   *
   * @throws IllegalArgumentException naming {@code field} when the name is absolute, empty, holds
   *     {@code ..}, {@code .} or empty segments, a backslash, a NUL or another control character
   */
  public static Path lexical(Path root, String field, String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("'" + field + "': empty; expected a path relative to the run directory");
    }
    if (name.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("'" + field + "': longer than " + MAX_LENGTH + " characters");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '\\') {
        throw new IllegalArgumentException("'" + field + "': '" + abbreviate(name)
            + "' holds a control character or a backslash");
      }
    }
    if (name.startsWith("/") || name.matches("^[A-Za-z]:.*")) {
      throw new IllegalArgumentException("'" + field + "': '" + abbreviate(name)
          + "' is absolute; expected a path relative to the run directory");
    }
    for (String segment : name.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new IllegalArgumentException("'" + field + "': '" + abbreviate(name)
            + "' has an empty, '.' or '..' segment; expected a path inside the run directory");
      }
    }
    Path base = root.toAbsolutePath().normalize();
    Path p = base.resolve(name).normalize();
    if (!p.startsWith(base) || p.equals(base)) {
      throw new IllegalArgumentException("'" + field + "': '" + abbreviate(name) + "' leaves the run directory");
    }
    return p;
  }

  /**
   * Resolves {@code name} inside {@code root} as {@link #lexical} and checks that it exists and
   * that its real path (symbolic links followed) is inside the root's real path.
   *
   * @return the real path of the file or directory
   * @throws IllegalArgumentException as {@link #lexical}, or naming {@code field} when a link
   *     leads outside the root
   * @throws java.nio.file.NoSuchFileException when nothing of that name exists
   * @throws IOException when the file system cannot be read
   */
  public static Path existing(Path root, String field, String name) throws IOException {
    Path p = lexical(root, field, name);
    return inside(root, field, p, name);
  }

  /**
   * Checks that an existing {@code path} lies inside {@code root} once every symbolic link on
   * both is followed.
   *
   * @param shown what to call the path in a message
   * @return the real path
   * @throws IllegalArgumentException naming {@code field} when it leads outside the root
   * @throws java.nio.file.NoSuchFileException when it does not exist
   */
  public static Path inside(Path root, String field, Path path, String shown) throws IOException {
    Path realRoot = root.toRealPath();
    Path real = path.toRealPath();
    if (!real.startsWith(realRoot)) {
      throw new IllegalArgumentException("'" + field + "': '" + abbreviate(shown)
          + "' is a link that leads outside the run directory");
    }
    return real;
  }

  /** Whether {@code p} is a regular file, not following a final symbolic link. */
  public static boolean isPlainFile(Path p) {
    return Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS);
  }

  private static String abbreviate(String s) {
    if (s == null) {
      return "null";
    }
    return s.length() <= 120 ? s : s.substring(0, 117) + "...";
  }
}
