"""PyTorch eager sparse-coder training step, the comparison point of `loupe bench sae`.

Usage: python3 torch_sae_step.py THREADS
The process reads commands from stdin, one a line, and answers each with one JSON line on stdout,
so that the Java side can alternate its own measurements with these without paying torch's import
each time:
  measure ACT D_IN D_SAE BATCH K L1 LR BETA1 BETA2 EPS WARMUP STEPS SEED
      ACT is relu or topk. Builds a fresh coder, trains WARMUP untimed and STEPS timed steps on one
      batch of Gaussian rows and answers {"tokens_per_s", "step_ms", "steps", "loss"} (median step)
      with "step_gflops" (10 n d_in d_sae per step time), "matmul_gflops" (torch's rate for the
      [n, d_in] x [d_in, d_sae] product, the better of one matmul and row blocks of 512, timed as
      often) and "matmul_fraction" (their ratio).
  quit
The step mirrors dev.loupe.sdk.sparse.SparseCoderTrainer for these two activations:
  pre = (x - b_dec) @ W_enc + b_enc; f = relu(pre), or the row's K largest pre-activations (relu'd)
  scattered into zeros; x_hat = f @ W_dec + b_dec; loss = mean over rows of the squared error summed
  over d_in, plus for relu L1 * mean over rows of sum(f) (plain L1, decoder rows held at unit norm);
  loss.backward(); the component of W_dec's gradient parallel to each decoder row is removed;
  torch.optim.Adam steps; decoder rows are renormalised to unit norm; per-latent firing counts are
  accumulated for dead-latent tracking. TopK has no AuxK term: no latent can be dead within a
  benchmark this short (Loupe's dead window is 10M tokens), so Loupe computes none either.
Weights are float32, W_enc [d_in, d_sae] initialised as the transpose of unit-norm Gaussian decoder
rows, biases zero, as SparseCoder.initialize does.
"""
import json
import statistics
import sys
import time

import torch


def measure(act, d_in, d_sae, batch, k, l1, lr, beta1, beta2, eps, warmup, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    w_dec = torch.randn(d_sae, d_in, generator=gen)
    w_dec /= w_dec.norm(dim=1, keepdim=True)
    w_dec.requires_grad_(True)
    w_enc = w_dec.detach().t().contiguous().requires_grad_(True)
    b_enc = torch.zeros(d_sae, requires_grad=True)
    b_dec = torch.zeros(d_in, requires_grad=True)
    x = torch.randn(batch, d_in, generator=gen)
    opt = torch.optim.Adam([w_enc, b_enc, w_dec, b_dec], lr=lr, betas=(beta1, beta2), eps=eps)
    fired = torch.zeros(d_sae, dtype=torch.long)

    def step():
        opt.zero_grad(set_to_none=True)
        pre = (x - b_dec) @ w_enc + b_enc
        if act == "topk":
            values, indices = pre.topk(k, dim=1)
            f = torch.zeros_like(pre).scatter(1, indices, values.relu())
        else:
            f = pre.relu()
        err = f @ w_dec + b_dec - x
        loss = err.square().sum(dim=1).mean()
        if act == "relu":
            loss = loss + l1 * f.sum(dim=1).mean()
        loss.backward()
        with torch.no_grad():
            g = w_dec.grad
            g -= (g * w_dec).sum(dim=1, keepdim=True) * w_dec
            opt.step()
            w_dec.div_(w_dec.norm(dim=1, keepdim=True).clamp_min(1e-12))
            fired.add_((f > 0).sum(dim=0))
        return loss.item()

    times = []
    loss = float("nan")
    for s in range(warmup + steps):
        start = time.perf_counter()
        loss = step()
        if s >= warmup:
            times.append(time.perf_counter() - start)
    secs = statistics.median(times)
    # The same reference matmul SparseCoderBenchmark times in Loupe, so the two BLAS builds can be told apart
    # from the two training steps.
    w = w_enc.detach()

    def reference(block):
        mm = []
        for s in range(warmup + steps):
            start = time.perf_counter()
            for r in range(0, batch, block):
                x[r:r + block] @ w
            if s >= warmup:
                mm.append(time.perf_counter() - start)
        return statistics.median(mm)

    # the better of one whole-batch matmul and row blocks of 512, as SparseCoderBenchmark times it
    matmul_gflops = 2.0 * batch * d_in * d_sae / min(reference(batch), reference(min(batch, 512))) / 1e9
    step_gflops = 10.0 * batch * d_in * d_sae / secs / 1e9
    return {"tokens_per_s": batch / secs, "step_ms": 1000 * secs, "steps": steps, "loss": loss,
            "step_gflops": step_gflops, "matmul_gflops": matmul_gflops, "matmul_fraction": step_gflops / matmul_gflops}


def main():
    torch.set_num_threads(int(sys.argv[1]))
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        if cmd[0] != "measure" or len(cmd) != 14 or cmd[1] not in ("relu", "topk"):
            raise ValueError("expected 'measure relu|topk D_IN D_SAE BATCH K L1 LR BETA1 BETA2 EPS WARMUP STEPS SEED',"
                             " got %r" % line.strip())
        d_in, d_sae, batch, k = (int(v) for v in cmd[2:6])
        l1, lr, beta1, beta2, eps = (float(v) for v in cmd[6:11])
        warmup, steps, seed = (int(v) for v in cmd[11:14])
        print(json.dumps(measure(cmd[1], d_in, d_sae, batch, k, l1, lr, beta1, beta2, eps, warmup, steps, seed)),
              flush=True)


if __name__ == "__main__":
    main()
