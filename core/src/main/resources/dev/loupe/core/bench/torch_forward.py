"""PyTorch eager GPT-2 forward throughput, the comparison point of `loupe bench forward`.

Usage: python3 torch_forward.py MODEL_DIR TOKENS_JSON
MODEL_DIR is a Hugging Face-style directory (config.json + model.safetensors, float32);
TOKENS_JSON one batch, a list of equal-length lists of token ids. The process reads commands
from stdin, one a line, and answers each with one JSON line on stdout, so that the Java side can
alternate its own rounds with these without paying torch's import each time:
  logits OUT_FILE   one pass; writes its logits as little-endian float32 [batch, pos, vocab]
  warmup N          N untimed passes (N may be 0); answers {"passes"}
  round N           N > 0 timed passes; answers {"passes", "seconds", "tokens_per_s", "cpu_ms_per_pass"}
                    (CPU time of the whole process, all threads)
  quit
The forward is plain batched tensor code (no transformers), under torch.no_grad() on 2 threads.
"""
import json
import struct
import sys
import time

import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise ValueError("tensor %s is %s; this benchmark reads float32 only" % (name, meta["dtype"]))
        start, end = meta["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[base + start:base + end]),
                                         dtype=torch.float32).reshape(meta["shape"])
    return tensors


def strip_prefix(w):
    # Saved directories may name weights "transformer.h.0..." (GPT2LMHeadModel) or "h.0...".
    return {(k[len("transformer."):] if k.startswith("transformer.") else k): v for k, v in w.items()}


class Gpt2:
    def __init__(self, cfg, w):
        self.eps = cfg["layer_norm_epsilon"]
        self.d = cfg["n_embd"]
        self.h = cfg["n_head"]
        self.layers = cfg["n_layer"]
        self.w = w
        self.unembed = w.get("lm_head.weight", w["wte.weight"]).t().contiguous()

    def forward(self, ids):
        w, d, h = self.w, self.d, self.h
        b, t = ids.shape
        dh = d // h
        x = w["wte.weight"][ids] + w["wpe.weight"][:t]
        masked = ~torch.tril(torch.ones(t, t, dtype=torch.bool))
        scale = 1.0 / (dh ** 0.5)
        for layer in range(self.layers):
            p = "h.%d." % layer
            a = F.layer_norm(x, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], self.eps)
            qkv = torch.addmm(w[p + "attn.c_attn.bias"], a.reshape(b * t, d), w[p + "attn.c_attn.weight"])
            q, k, v = qkv.view(b, t, 3, h, dh).permute(2, 0, 3, 1, 4)
            scores = (q @ k.transpose(-1, -2)) * scale
            scores = scores.masked_fill(masked, float("-inf"))
            z = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b * t, d)
            x = x + torch.addmm(w[p + "attn.c_proj.bias"], z, w[p + "attn.c_proj.weight"]).view(b, t, d)
            m = F.layer_norm(x, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], self.eps)
            m = F.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], m.reshape(b * t, d), w[p + "mlp.c_fc.weight"]),
                       approximate="tanh")
            x = x + torch.addmm(w[p + "mlp.c_proj.bias"], m, w[p + "mlp.c_proj.weight"]).view(b, t, d)
        x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"], self.eps)
        return x @ self.unembed


def main():
    model_dir, tokens_json = sys.argv[1:3]
    torch.set_num_threads(2)
    with open(model_dir + "/config.json") as f:
        cfg = json.load(f)
    model = Gpt2(cfg, strip_prefix(load_safetensors(model_dir + "/model.safetensors")))
    with open(tokens_json) as f:
        ids = torch.tensor(json.load(f), dtype=torch.long)
    tokens = ids.numel()
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    with torch.no_grad():
        for line in sys.stdin:
            cmd = line.split()
            if not cmd:
                continue
            if cmd[0] == "quit":
                break
            if cmd[0] == "logits":
                with open(cmd[1], "wb") as out:
                    out.write(model.forward(ids).contiguous().numpy().astype("<f4").tobytes())
                print(json.dumps({"logits": cmd[1]}), flush=True)
            elif cmd[0] in ("warmup", "round"):
                n = int(cmd[1])
                start, cpu = time.perf_counter(), time.process_time()
                for _ in range(n):
                    model.forward(ids)
                secs, cpu = time.perf_counter() - start, time.process_time() - cpu
                if cmd[0] == "warmup":
                    print(json.dumps({"passes": n}), flush=True)
                    continue
                print(json.dumps({"passes": n, "seconds": secs, "tokens_per_s": n * tokens / secs,
                                  "cpu_ms_per_pass": 1000 * cpu / n}), flush=True)
            else:
                raise ValueError("unknown command %r" % line.strip())


if __name__ == "__main__":
    main()
