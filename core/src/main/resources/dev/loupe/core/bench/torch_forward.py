"""PyTorch eager GPT-2 / BERT forward throughput, the comparison point of `loupe bench forward`.

Usage: python3 torch_forward.py MODEL_DIR TOKENS_JSON
MODEL_DIR is a Hugging Face-style directory (config.json + model.safetensors, float32) whose
config.json model_type is gpt2 (output: logits) or bert (output: the last hidden state);
TOKENS_JSON one batch, a list of equal-length lists of token ids, so BERT needs no padding mask
(every position is real) and runs with token type 0 throughout. The process reads commands
from stdin, one a line, and answers each with one JSON line on stdout, so that the Java side can
alternate its own rounds with these without paying torch's import each time:
  logits OUT_FILE   one pass; writes its output as little-endian float32: GPT-2 logits
                    [batch, pos, vocab], BERT last hidden state [batch, pos, hidden]
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


def strip_prefix(w, prefix):
    # Saved directories may name weights "transformer.h.0..." (GPT2LMHeadModel) or "h.0...", and
    # "bert.encoder..." (BertForMaskedLM and friends) or "encoder...".
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in w.items()}


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


class Bert:
    """Post-LayerNorm encoder with learned absolute positions and exact (erf) GELU, no attention mask."""

    def __init__(self, cfg, w):
        for field, expected in (("hidden_act", "gelu"), ("position_embedding_type", "absolute")):
            if cfg.get(field, expected) != expected:
                raise ValueError("config.json %s is %r; this benchmark implements %r only"
                                 % (field, cfg[field], expected))
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.d = cfg["hidden_size"]
        self.h = cfg["num_attention_heads"]
        self.layers = cfg["num_hidden_layers"]
        self.w = w
        # Query, key and value as one [d, 3d] matrix so that each layer does one projection, as GPT-2 does.
        self.qkv = []
        for layer in range(self.layers):
            p = "encoder.layer.%d.attention.self." % layer
            self.qkv.append((torch.cat([w[p + n + ".bias"] for n in ("query", "key", "value")]),
                             torch.cat([w[p + n + ".weight"] for n in ("query", "key", "value")]).t().contiguous()))
        self.t = {k: v.t().contiguous() for k, v in w.items()
                  if k.endswith("dense.weight") and k.startswith("encoder.")}

    def linear(self, x, name):
        return torch.addmm(self.w[name + ".bias"], x, self.t[name + ".weight"])

    def forward(self, ids):
        w, d, h = self.w, self.d, self.h
        b, t = ids.shape
        dh = d // h
        # Token type 0 everywhere: the batch has no segment ids.
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = F.layer_norm(x, (d,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        x = x.reshape(b * t, d)
        scale = 1.0 / (dh ** 0.5)
        for layer in range(self.layers):
            p = "encoder.layer.%d." % layer
            bias, weight = self.qkv[layer]
            q, k, v = torch.addmm(bias, x, weight).view(b, t, 3, h, dh).permute(2, 0, 3, 1, 4)
            scores = (q @ k.transpose(-1, -2)) * scale
            z = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b * t, d)
            x = F.layer_norm(x + self.linear(z, p + "attention.output.dense"), (d,),
                             w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                             self.eps)
            m = F.gelu(self.linear(x, p + "intermediate.dense"))
            x = F.layer_norm(x + self.linear(m, p + "output.dense"), (d,), w[p + "output.LayerNorm.weight"],
                             w[p + "output.LayerNorm.bias"], self.eps)
        return x.view(b, t, d)


def load_model(model_dir):
    with open(model_dir + "/config.json") as f:
        cfg = json.load(f)
    weights = load_safetensors(model_dir + "/model.safetensors")
    kind = cfg.get("model_type")
    if kind == "gpt2":
        return Gpt2(cfg, strip_prefix(weights, "transformer."))
    if kind == "bert":
        return Bert(cfg, strip_prefix(weights, "bert."))
    raise ValueError("%s/config.json model_type is %r; this benchmark implements 'gpt2' and 'bert'"
                     % (model_dir, kind))


def main():
    model_dir, tokens_json = sys.argv[1:3]
    torch.set_num_threads(2)
    model = load_model(model_dir)
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
