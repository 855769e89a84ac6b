package dev.loupe.core.hub;

import java.util.regex.Pattern;

/**
 * A parsed {@code hf:ORG/NAME[@REVISION]} reference (ORG may be left out for legacy names such as
 * {@code hf:gpt2}); the revision defaults to {@code main}.
 */
public record HubRef(String repo, String revision) {
  public static final String PREFIX = "hf:";
  public static final String DEFAULT_REVISION = "main";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

  public HubRef {
    String[] parts = repo == null ? new String[0] : repo.split("/", -1);
    if (parts.length < 1 || parts.length > 2 || !java.util.Arrays.stream(parts).allMatch(p -> NAME.matcher(p).matches()
        && !p.contains(".."))) {
      throw new IllegalArgumentException("Hugging Face repository '" + repo + "' is not of the form ORG/NAME "
          + "(letters, digits, '.', '_', '-')");
    }
    if (revision == null || !REVISION.matcher(revision).matches() || revision.contains("..")) {
      throw new IllegalArgumentException("revision '" + revision + "' of " + repo
          + " is not a branch, tag or commit hash (letters, digits, '.', '_', '-', '/')");
    }
  }

  /** Parses {@code hf:ORG/NAME[@REVISION]}. */
  public static HubRef parse(String ref) {
    if (ref == null || !ref.startsWith(PREFIX)) {
      throw new IllegalArgumentException("model reference '" + ref + "' does not start with '" + PREFIX
          + "'; expected hf:ORG/NAME[@REVISION]");
    }
    String body = ref.substring(PREFIX.length());
    int at = body.indexOf('@');
    String repo = at < 0 ? body : body.substring(0, at);
    String rev = at < 0 ? DEFAULT_REVISION : body.substring(at + 1);
    try {
      return new HubRef(repo, rev);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("model reference '" + ref + "': " + e.getMessage()
          + "; expected hf:ORG/NAME[@REVISION]", e);
    }
  }

  /** Whether the revision is a full commit hash rather than a branch or tag. */
  public boolean isCommit() {
    return COMMIT.matcher(revision).matches();
  }

  /** The cache directory name: {@code models--ORG--NAME}. */
  public String cacheDirName() {
    return "models--" + repo.replace("/", "--");
  }

  @Override
  public String toString() {
    return PREFIX + repo + "@" + revision;
  }
}
