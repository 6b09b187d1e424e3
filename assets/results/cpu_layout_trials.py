# Produced assets/results/cpu_layout_trials.txt: OMP_NUM_THREADS=1 python assets/results/cpu_layout_trials.py
# Train-step time (batch 64) of Single and PE(2,4,1) with oneDNN (mkldnn) on/off and channels_last on/off.
import time, torch, statistics
from pe_lab.methods import build
from pe_lab.train import _member_loss
torch.manual_seed(0)
x=torch.randn(64,3,32,32); y=torch.randint(0,10,(64,))
def step_time(model, cl, reps=6):
    opt=torch.optim.SGD(model.parameters(),lr=0.01,momentum=0.9)
    xx = x.contiguous(memory_format=torch.channels_last) if cl else x
    if cl: model=model.to(memory_format=torch.channels_last)
    ts=[]
    for i in range(reps+2):
        t=time.perf_counter(); opt.zero_grad(); _member_loss(model(xx),y,0).backward(); opt.step(); ts.append(time.perf_counter()-t)
    return statistics.median(ts[2:])
for name in ["resnet20","resnet18"]:
    for mk in [True, False]:
        torch.backends.mkldnn.enabled = mk
        for cl in [False, True]:
            s=step_time(build(name,"single"),cl); p=step_time(build(name,"packed"),cl)
            print(f"{name} mkldnn={mk} channels_last={cl}: single {s*1000:.0f} ms, PE {p*1000:.0f} ms, PE/Single {p/s:.2f}", flush=True)
