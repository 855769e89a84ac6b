package org.example.meannorm;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import java.util.LinkedHashMap;
import java.util.Map;
import org.pf4j.Extension;

/** {@code mean-norm}: the mean L2 norm of the rows of one activation input, published as {@code summary}. */
@Extension
public class MeanNormMethod implements AnalysisMethod {
  private static final MethodInfo INFO = MethodInfo.of("mean-norm", "Mean L2 norm of activation rows",
      ConfigSchema.builder().longOption("max_rows", 0L, 0L, null, "stop after this many rows (0: all)").build());

  @Override
  public MethodInfo info() {
    return INFO;
  }

  @Override
  public void run(JobContext ctx) throws Exception {
    long maxRows = ctx.config().getLong("max_rows");
    ActivationSource in = ctx.input();
    long rows = 0;
    double sum = 0;
    ActivationBatch b;
    while ((maxRows == 0 || rows < maxRows) && (b = in.next()) != null) {
      ctx.checkCancelled();
      for (int r = 0; r < b.rows() && (maxRows == 0 || rows < maxRows); r++, rows++) {
        double ss = 0;
        for (int c = 0; c < b.width(); c++) {
          double x = b.get(r, c);
          ss += x * x;
        }
        sum += Math.sqrt(ss);
      }
      ctx.progress(rows, in.totalRows(), "rows");
    }
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("hook", in.hookName());
    summary.put("rows", rows);
    summary.put("mean_norm", rows == 0 ? 0.0 : sum / rows);
    ctx.publish("summary", summary);
  }
}
