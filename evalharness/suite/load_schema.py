"""The ``server`` and ``load`` sections of a suite: a server the harness starts, and how to load it.

``load`` drives the suite's target with Locust in a child process, open loop (arrivals on a seeded
schedule, latency timed from the scheduled send) or closed loop (N users), and gates on latency,
throughput, errors, cold start, token timings and goodput. Each gate is a pytest item
``suite.yaml::load::<gate>``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from evalharness.suite.fields import ClosedModel, GateOptions, NonNegativeGateOptions, ShareGateOptions

LOAD_GATES: dict[str, str] = {
    "p50_ms": "median latency in ms (open loop: from the scheduled send)",
    "p95_ms": "95th percentile latency in ms (open loop: from the scheduled send)",
    "p99_ms": "99th percentile latency in ms (open loop: from the scheduled send)",
    "p999_ms": "99.9th percentile latency in ms (open loop: from the scheduled send)",
    "mean_ms": "mean latency in ms",
    "max_ms": "largest latency in ms",
    "qps": "successful requests per second over the measured window",
    "qps_per_gpu": "qps divided by the GPUs serving the model (an error where there is none)",
    "qps_per_core": "qps divided by the CPU cores of this machine",
    "error_rate": "failed requests (any kind) over requests sent",
    "send_lag_p99_ms": "99th percentile of how late the generator sent (open loop)",
    "cold_start_s": "median seconds from spawning the server to its first valid answer",
    "cold_start_max_s": "slowest of the cold starts",
    "cold_path_p50_ms": "median latency of the first requests after the server is ready",
    "ttft_p95_ms": "95th percentile time to first token (streaming openai targets)",
    "tpot_ms": "mean time per output token after the first (vLLM's TPOT)",
    "itl_p95_ms": "95th percentile inter-token latency (vLLM's ITL)",
    "output_tokens_per_s": "output tokens per second over the measured window",
    "goodput": "share of requests that met every objective under load.slo",
    "rps_achieved_ratio": "requests sent over requests scheduled (open loop; below 1 the generator fell behind)",
    "cpu_ms_per_request": "CPU time of the serving processes (the server, or the local engine's load processes) per "
    "successful request, in ms",
    "rss_mib": "the largest resident memory of the serving processes during the run, in MiB",
    "model_size_mib": "the size of the target's model file, in MiB (local engines and file-backed servers)",
}
"""Load gate name -> what its value is."""

HOUR_S, DAY_S = 3600, 86_400
MAX_RATE = 100_000
"""Requests per second one load run may offer (Locust reaches a few thousand per process)."""
MAX_SCHEDULED = 5_000_000
"""Requests one open-loop run may schedule, ``rate * (warmup_s + duration_s)``: each generator
holds its share of the schedule in memory (an hour at about 1,400 requests per second)."""
MAX_USERS = 10_000
MAX_ROWS = 100_000
MAX_REMOTE_WORKERS = 256
MAX_GPUS = 1024
MAX_PID = 4_194_304
"""Linux's largest pid (``PID_MAX_LIMIT``); pid 1 is init, never a model server."""


class ServerSpec(ClosedModel):
    """A server the harness starts before the target is used and stops (by pid) at the end."""

    command: list[str] = Field(
        min_length=1, description="argv, run in the suite's folder; {port} is replaced; 'evalharness' is this Python's"
    )
    port: int = Field(0, ge=0, le=65535, description="0 picks a free port; {port} in target URLs is replaced too")
    health: str = Field("/health", description="liveness path: answers once the process listens")
    ready: str = Field("/ready", description="readiness path: 200 once the model is loaded")
    startup_timeout_s: PositiveFloat = Field(120.0, le=HOUR_S)


class ColdStartSpec(ClosedModel):
    """Cold starts: the server spawned afresh ``repeats`` times, timed in phases."""

    repeats: PositiveInt = Field(3, le=50)
    poll_ms: float = Field(10.0, gt=0, le=20, description="polling period of each phase (at most 20 ms)")
    warm_requests: int = Field(20, ge=1, le=10_000, description="first requests after ready: the cold path")


class LiveMetricsSpec(ClosedModel):
    """Live Prometheus metrics while the load runs: latency histogram, outcomes, send lag, CPU, memory, GPU."""

    port: int = Field(9464, ge=0, le=65535, description="port of /metrics (0: any free port; the run says which)")
    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0 to let a Prometheus elsewhere scrape)")
    linger_s: float = Field(
        5.0, ge=0, le=300, description="keep serving the final numbers this long after the run, for a last scrape"
    )


class SloSpec(ClosedModel):
    """Latency objectives; a request that meets all of them counts toward goodput."""

    latency_ms: PositiveFloat | None = Field(None, le=HOUR_S * 1000)
    ttft_ms: PositiveFloat | None = Field(None, le=HOUR_S * 1000)
    tpot_ms: PositiveFloat | None = Field(None, le=HOUR_S * 1000)


class RatioGates(ClosedModel):
    """With a baseline: thresholds on candidate / baseline, both loaded in one run."""

    min_ratio: float | None = Field(None, gt=0, description="the least candidate / baseline may be (needs baseline:)")
    max_ratio: float | None = Field(None, gt=0, description="the most candidate / baseline may be (needs baseline:)")

    @property
    def ratio_gates(self) -> dict[str, float]:
        """The ratio gates set, name -> limit."""
        return {name: value for name, value in (("min_ratio", self.min_ratio), ("max_ratio", self.max_ratio))
                if value is not None}  # fmt: skip


class LoadGateOptions(NonNegativeGateOptions, RatioGates):
    """Thresholds on a time, a rate, a size or a count, and, with a baseline, on candidate / baseline."""


class LoadShareGateOptions(ShareGateOptions, RatioGates):
    """Thresholds on a share in [0, 1], and, with a baseline, on candidate / baseline."""


class LoadGates(ClosedModel):
    """Gates on the load run; each one is a pytest item ``suite.yaml::load::<name>``.

    Shares (error_rate, goodput, rps_achieved_ratio) lie in [0, 1]; times, rates and counts are 0 or more.
    """

    p50_ms: LoadGateOptions | None = None
    p95_ms: LoadGateOptions | None = None
    p99_ms: LoadGateOptions | None = None
    p999_ms: LoadGateOptions | None = None
    mean_ms: LoadGateOptions | None = None
    max_ms: LoadGateOptions | None = None
    qps: LoadGateOptions | None = None
    qps_per_gpu: LoadGateOptions | None = None
    qps_per_core: LoadGateOptions | None = None
    error_rate: LoadShareGateOptions | None = None
    send_lag_p99_ms: LoadGateOptions | None = None
    cold_start_s: LoadGateOptions | None = None
    cold_start_max_s: LoadGateOptions | None = None
    cold_path_p50_ms: LoadGateOptions | None = None
    ttft_p95_ms: LoadGateOptions | None = None
    tpot_ms: LoadGateOptions | None = None
    itl_p95_ms: LoadGateOptions | None = None
    output_tokens_per_s: LoadGateOptions | None = None
    goodput: LoadShareGateOptions | None = None
    rps_achieved_ratio: LoadShareGateOptions | None = None
    cpu_ms_per_request: LoadGateOptions | None = None
    rss_mib: LoadGateOptions | None = None
    model_size_mib: LoadGateOptions | None = None

    def declared(self) -> dict[str, GateOptions]:
        """Gate name -> options, in the order the suite wrote them."""
        return {name: options for name, options in self if options is not None}


class LoadSpec(ClosedModel):
    """How to load the target and what to gate on."""

    model: Literal["open", "closed"] = Field("open", description="open: scheduled arrivals; closed: N users")
    rate: PositiveFloat | None = Field(None, le=MAX_RATE, description="open loop: requests per second offered")
    arrival: Literal["poisson", "constant"] = Field("poisson", description="open loop: arrival process (seeded)")
    users: PositiveInt = Field(8, le=MAX_USERS, description="closed loop: concurrent users")
    think_time_s: float = Field(0.0, ge=0, le=HOUR_S, description="closed loop: pause between a user's requests")
    duration_s: PositiveFloat = Field(10.0, le=DAY_S, description="measured window, after the warm-up")
    warmup_s: float = Field(2.0, ge=0, le=HOUR_S, description="requests in this first window are not measured")
    processes: PositiveInt = Field(1, le=64, description="load-generator processes; histograms merge exactly")
    launch: Literal["fork", "master_worker"] = Field(
        "fork",
        description="how the processes start: fork (Locust --processes, forked from one master) or "
        "master_worker (a Locust --master and that many --worker processes, each a fresh interpreter)",
    )
    remote_workers: int = Field(
        0,
        ge=0,
        le=MAX_REMOTE_WORKERS,
        description="master_worker: workers on other machines to wait for (evalharness load-worker)",
    )
    master_host: str = Field("127.0.0.1", description="master_worker: the address the master listens on")
    master_port: int = Field(5557, ge=1, le=65535, description="master_worker: its port, when remote workers join")
    remote_wait_s: PositiveFloat = Field(
        60.0, le=HOUR_S, description="master_worker: how long to wait for remote workers"
    )
    max_in_flight: PositiveInt = Field(1000, le=MAX_RATE, description="open loop: more in flight and a send is dropped")
    timeout_s: PositiveFloat = Field(30.0, le=HOUR_S)
    rows: PositiveInt = Field(200, le=MAX_ROWS, description="dataset rows drawn (seeded) for the request mix")
    late_ms: PositiveFloat = Field(5.0, le=60_000, description="a send later than this after its schedule is late")
    gpus: int | None = Field(
        None, ge=0, le=MAX_GPUS, description="GPUs serving the model (default: NVML's count, if any)"
    )
    pid: int | None = Field(
        None, ge=2, le=MAX_PID, description="a running server's pid to sample, when the harness does not start it"
    )
    sample_interval_s: float = Field(0.5, gt=0, le=1.0, description="resource sampling period (1 Hz or faster)")
    rounds: int = Field(
        4, ge=2, le=50,
        description="with a baseline: each side is loaded in this many short rounds of duration_s / rounds, "
        "alternating target, baseline, baseline, target... so machine noise hits both alike",
    )  # fmt: skip
    slo: SloSpec = SloSpec()
    cold_start: ColdStartSpec = ColdStartSpec()
    metrics: LiveMetricsSpec | None = Field(
        None, description="serve live Prometheus /metrics on this port while the load runs (opt-in)"
    )
    gates: LoadGates = Field(default_factory=LoadGates)

    @model_validator(mode="after")
    def _rate_for_open_loop(self) -> LoadSpec:
        if self.model == "open" and self.rate is None:
            raise ValueError("an open-loop load needs rate (requests per second), e.g. rate: 200")
        scheduled = (self.rate or 0) * (self.warmup_s + self.duration_s) if self.model == "open" else 0
        if scheduled > MAX_SCHEDULED:
            raise ValueError(
                f"rate * (warmup_s + duration_s) schedules {scheduled:,.0f} requests; one run schedules at most "
                f"{MAX_SCHEDULED:,}: lower the rate or shorten the run"
            )
        if self.remote_workers and self.launch != "master_worker":
            raise ValueError("remote_workers join a Locust master: set launch: master_worker")
        return self
