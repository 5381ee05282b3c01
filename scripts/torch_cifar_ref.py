#!/usr/bin/python3
"""The project's PyTorch reference: the CIFAR ResNet of depth 6n+2 (He et al. 2015, §4.2, with
option-B projection shortcuts) or its plain twin, trained with PyTorch on the CIFAR-10 binary files
in DATA and evaluated on the test batch of each EVAL dir. The recipe is the course's: SGD momentum
0.9, lr 0.1 with cosine decay per step, weight decay 1e-4 on every parameter, batch 128, 4-pixel-pad
random crop and horizontal flip, per-channel standardisation, PyTorch's default initialisation.
Prints per-epoch training loss and error, the training throughput and the test accuracy.

    apt-get install -y python3-torch      # Debian's PyTorch (CPU)
    /usr/bin/python3 scripts/torch_cifar_ref.py DATA EPOCHS DEPTH resnet|plain [EVAL_DIR...]

`npm run parity` and `npm run bench -- --vs-pytorch` run it (its `net(depth)` for the bench)."""
import sys, time, os
import numpy as np
try:
    import torch, torch.nn as nn, torch.nn.functional as F
except ImportError:
    sys.exit('torch_cifar_ref.py: PyTorch is not installed (Debian: apt-get install -y python3-torch)')
torch.set_num_threads(2); torch.manual_seed(0); np.random.seed(0)
def load(d, names):
    recs = np.concatenate([np.fromfile(os.path.join(d, n), np.uint8).reshape(-1, 3073) for n in names])
    return recs[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, recs[:, 0].astype(np.int64)
class Block(nn.Module):
    def __init__(s, i, o, st, plain=False):
        super().__init__(); s.plain = plain
        s.c1 = nn.Conv2d(i, o, 3, st, 1, bias=False); s.b1 = nn.BatchNorm2d(o)
        s.c2 = nn.Conv2d(o, o, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(o)
        # The plain twin has no shortcut, so no projection either (the reference this replaces built
        # one it never used: same results for ResNets, 2 752 unused parameters in plain-20).
        s.sc = nn.Sequential() if (plain or (st == 1 and i == o)) else nn.Sequential(nn.Conv2d(i, o, 1, st, bias=False), nn.BatchNorm2d(o))
    def forward(s, x):
        y = s.b2(s.c2(F.relu(s.b1(s.c1(x)))))
        return F.relu(y if s.plain else y + s.sc(x))
def net(depth, plain=False):
    n = (depth - 2) // 6; L = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]; i = 16
    for f, s0 in [(16, 1), (32, 2), (64, 2)]:
        for k in range(n): L.append(Block(i, f, s0 if k == 0 else 1, plain)); i = f
    return nn.Sequential(*L, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
def main():
    data, epochs, depth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    plain = len(sys.argv) > 4 and sys.argv[4] == 'plain'
    evals = sys.argv[5:] if len(sys.argv) > 5 else []
    xtr, ytr = load(data, [f'data_batch_{k}.bin' for k in range(1, 6)])
    mean = xtr.mean(axis=(0, 2, 3), keepdims=True); std = xtr.std(axis=(0, 2, 3), keepdims=True)
    norm = lambda x: (x - mean) / std
    m = net(depth, plain); B = 128
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    steps = epochs * ((len(xtr) + B - 1) // B); sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    seen = 0; t0 = time.time()
    for ep in range(epochs):
        m.train(); perm = np.random.permutation(len(xtr)); tl = 0; tc = 0
        for s in range(0, len(xtr), B):
            idx = perm[s:s + B]; xb = xtr[idx].copy()
            # augmentation: pad 4 + random crop, horizontal flip
            xp = np.pad(xb, ((0, 0), (0, 0), (4, 4), (4, 4)))
            o = np.random.randint(0, 9, (len(xb), 2))
            xb = np.stack([xp[j, :, o[j, 0]:o[j, 0] + 32, o[j, 1]:o[j, 1] + 32] for j in range(len(xb))])
            flip = np.random.rand(len(xb)) < 0.5; xb[flip] = xb[flip, :, :, ::-1]
            xb = torch.from_numpy(np.ascontiguousarray(norm(xb))); yb = torch.from_numpy(ytr[idx])
            opt.zero_grad(); out = m(xb); loss = F.cross_entropy(out, yb); loss.backward(); opt.step(); sched.step()
            seen += len(idx); tl += loss.item() * len(idx); tc += (out.argmax(1) == yb).sum().item()
        print(f'epoch {ep+1} train_loss {tl/len(xtr):.4f} train_err {1-tc/len(xtr):.4f}', flush=True)
    dt = time.time() - t0
    print(f'train throughput {seen/dt:.1f} img/s')
    m.eval()
    for d in evals:
        x, y = load(d, ['test_batch.bin'])
        with torch.no_grad(): acc = (m(torch.from_numpy(norm(x))).argmax(1).numpy() == y).mean()
        print(f'test_acc {d} n={len(y)} {acc:.4f}')
if __name__ == '__main__':
    main()
