"""The lab's simulated nodes, reached with a real asyncssh client, and the demo recipe's scripts."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
import yaml

from engine.lab.layout import ALL_LAB_NODES, DEPLOY_STEPS, PEK3A_NODES, PEK3B_NODES, LabNodeSpec
from engine.lab.nodedir import clear_failures, prepare_node_dir, set_failure, set_speed
from engine.lab.server import Lab, LabNodeAddress
from engine.recipe import DEMO_RECIPE_DIR, load_recipe

RECIPE_DIR = DEMO_RECIPE_DIR
DEADLINE_S = 20.0

KS_VM = PEK3A_NODES[0]
VG = PEK3A_NODES[2]
FUSION_HYPER = PEK3B_NODES[2]


@pytest.fixture
def lab_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
async def small_lab(tmp_path: Path, lab_key: asyncssh.SSHKey) -> AsyncIterator[Lab]:
    lab = Lab(tmp_path / "lab", specs=[KS_VM, VG, FUSION_HYPER], speed=200)
    await lab.start([_public_key(lab_key)])
    yield lab
    await lab.stop()


def _public_key(key: asyncssh.SSHKey) -> str:
    return key.export_public_key("openssh").decode("ascii")


def _connect(node: LabNodeAddress, key: asyncssh.SSHKey):  # returns asyncssh's connect context manager
    known_hosts = asyncssh.import_known_hosts(f"[{node.host}]:{node.port} {node.host_public_key}\n")
    return asyncssh.connect(
        node.host,
        node.port,
        username=node.user,
        client_keys=[key],
        known_hosts=known_hosts,
        config=None,
        agent_path=None,
        connect_timeout=DEADLINE_S,
    )


def _process_alive(pid: int) -> bool:
    # A zombie has already exited, and in a container without an init process it may never be reaped.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z"


async def _wait_until_gone(pids: list[int]) -> list[int]:
    """Poll until the processes have ended; return those still alive at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while loop.time() < deadline:
        alive = [pid for pid in pids if _process_alive(pid)]
        if not alive:
            return []
        await asyncio.sleep(0.02)
    return [pid for pid in pids if _process_alive(pid)]


# -- commands ---------------------------------------------------------------


async def test_command_runs_in_node_directory(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)

    async with _connect(node, lab_key) as conn:
        pwd = await conn.run("pwd", check=True)
        home = await conn.run('printf %s "$HOME"', check=True)
        await conn.run("echo written-by-the-node > made.txt", check=True)

    assert pwd.stdout == f"{node.root}\n"
    assert home.stdout == str(node.root)
    assert (node.root / "made.txt").read_text() == "written-by-the-node\n"


async def test_exit_status_and_stderr_propagate(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)

    async with _connect(node, lab_key) as conn:
        failed = await conn.run("echo out; echo err >&2; exit 7")
        killed = await conn.run("kill -TERM $$")

    assert failed.exit_status == 7
    assert failed.stdout == "out\n"
    assert failed.stderr == "err\n"
    assert killed.exit_signal is not None
    assert killed.exit_signal[0] == "TERM"


async def test_stdin_reaches_command(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)

    async with _connect(node, lab_key) as conn:
        result = await conn.run("cat > uploaded.txt && wc -l < uploaded.txt", input="one\ntwo\n", check=True)

    assert result.stdout.strip() == "2"
    assert (node.root / "uploaded.txt").read_text() == "one\ntwo\n"


async def test_large_output_arrives_complete(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)

    async with _connect(node, lab_key) as conn:
        result = await conn.run("seq 1 200000; seq 1 50000 >&2", check=True)

    assert result.stdout.splitlines() == [str(i) for i in range(1, 200001)]
    assert len(result.stderr.splitlines()) == 50000


async def test_output_streams_before_command_ends(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)
    go = node.root / "go"
    # The command cannot end before `go` exists, and the test creates it only
    # after reading the first line, so that line must have arrived early.
    command = (
        "echo first; i=0; "
        "while [ ! -f go ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done; "
        "[ -f go ] && echo second"
    )

    async with _connect(node, lab_key) as conn:
        process = await conn.create_process(command)
        first = await asyncio.wait_for(process.stdout.readline(), DEADLINE_S)
        go_existed_before_first_line = go.exists()
        go.write_text("")
        rest = await asyncio.wait_for(process.stdout.read(), DEADLINE_S)
        await process.wait()

    assert first == "first\n"
    assert not go_existed_before_first_line
    assert rest == "second\n"
    assert process.exit_status == 0


async def test_signal_reaches_command(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)

    async with _connect(node, lab_key) as conn:
        process = await conn.create_process("echo ready; sleep 300")
        assert await asyncio.wait_for(process.stdout.readline(), DEADLINE_S) == "ready\n"
        process.send_signal("TERM")
        await asyncio.wait_for(process.wait(), DEADLINE_S)

    assert process.exit_signal is not None
    assert process.exit_signal[0] == "TERM"


async def test_shell_session_rejected(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)

    async with _connect(node, lab_key) as conn:
        shell = await conn.create_process()
        shell.stdin.write_eof()
        rejected = await asyncio.wait_for(shell.wait(), DEADLINE_S)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("true", term_type="xterm")

    assert rejected.exit_status == 1
    assert "runs commands only" in rejected.stderr


async def test_early_channel_close_kills_command(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)

    async with _connect(node, lab_key) as conn:
        process = await conn.create_process("sleep 300 & echo $!; echo $$; wait")
        sleep_pid = int(await asyncio.wait_for(process.stdout.readline(), DEADLINE_S))
        shell_pid = int(await asyncio.wait_for(process.stdout.readline(), DEADLINE_S))
        assert _process_alive(sleep_pid)
        process.close()
        still_alive = await _wait_until_gone([shell_pid, sleep_pid])
        after_close = await conn.run("echo still serving", check=True)

    assert still_alive == []
    assert after_close.stdout == "still serving\n"


async def test_stop_kills_running_commands(tmp_path: Path, lab_key: asyncssh.SSHKey) -> None:
    lab = Lab(tmp_path / "lab", specs=[KS_VM])
    node = (await lab.start([_public_key(lab_key)]))[0]

    try:
        async with _connect(node, lab_key) as conn:
            process = await conn.create_process("echo $$; sleep 300")
            shell_pid = int(await asyncio.wait_for(process.stdout.readline(), DEADLINE_S))
            await lab.stop()
            await asyncio.wait_for(process.wait(), DEADLINE_S)
    finally:
        await lab.stop()

    assert await _wait_until_gone([shell_pid]) == []
    assert process.exit_status is None


# -- authentication and SFTP ------------------------------------------------


async def test_wrong_lab_key_rejected(small_lab: Lab) -> None:
    node = small_lab.node(KS_VM.node_id)
    stranger = asyncssh.generate_private_key("ssh-ed25519")

    with pytest.raises(asyncssh.PermissionDenied):
        async with _connect(node, stranger):
            pass


async def test_any_user_name_accepted(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)
    known_hosts = asyncssh.import_known_hosts(f"[{node.host}]:{node.port} {node.host_public_key}\n")

    async with asyncssh.connect(
        node.host, node.port, username="operator", client_keys=[lab_key],
        known_hosts=known_hosts, config=None, agent_path=None,
    ) as conn:
        result = await conn.run('printf %s "$USER"', check=True)

    assert result.stdout == "operator"


async def test_sftp_chrooted_at_node_root(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)
    host_key_file = small_lab.lab_dir / "hostkeys" / node.node_id
    local = node.root.parent.parent / "upload.txt"
    local.write_text("payload\n")

    async with _connect(node, lab_key) as conn:
        async with conn.start_sftp_client() as sftp:
            await sftp.put(str(local), "dropped/../uploaded.txt")
            root_listing = await sftp.listdir("/")
            home = await sftp.realpath(".")
            escapes = []
            for path in ("/etc/passwd", f"/../../hostkeys/{node.node_id}", f"../../hostkeys/{node.node_id}"):
                try:
                    async with sftp.open(path) as remote:
                        escapes.append((path, await remote.read()))
                except asyncssh.SFTPNoSuchFile:
                    pass

    assert host_key_file.exists()
    assert (node.root / "uploaded.txt").read_text() == "payload\n"
    assert home == "/"
    assert ".lab-node" in root_listing
    assert "hostkeys" not in root_listing
    assert escapes == []


# -- the lab as a whole -----------------------------------------------------


async def test_all_nodes_start_and_stop(tmp_path: Path, lab_key: asyncssh.SSHKey) -> None:
    lab = Lab(tmp_path / "lab")
    nodes = await lab.start([_public_key(lab_key)])

    try:
        async def hostname_of(node: LabNodeAddress) -> str:
            async with _connect(node, lab_key) as conn:
                result = await conn.run("cat .lab-node/hostname; cat .lab-node/nics", check=True)
                return result.stdout

        outputs = await asyncio.gather(*(hostname_of(node) for node in nodes))
    finally:
        await lab.stop()

    assert len(nodes) == 21
    assert [node.node_id for node in nodes] == [spec.node_id for spec in ALL_LAB_NODES]
    assert len({node.port for node in nodes}) == 21
    assert {node.host for node in nodes} == {"127.0.0.1"}
    for node, output in zip(nodes, outputs):
        assert output == f"{node.hostname}\nnic=eth0 {node.mgmt_ip}/24\n"
    assert lab.nodes == []
    with pytest.raises(OSError):
        async with _connect(nodes[0], lab_key):
            pass


async def test_host_keys_and_state_survive_restart(tmp_path: Path, lab_key: asyncssh.SSHKey) -> None:
    specs = [KS_VM, VG]
    first = Lab(tmp_path / "lab", specs=specs)
    before = await first.start([_public_key(lab_key)])
    (before[0].root / "var").mkdir()
    (before[0].root / "var" / "kept").write_text("state\n")
    await first.stop()

    second = Lab(tmp_path / "lab", specs=specs, speed=7)
    after = await second.start([_public_key(lab_key)])
    try:
        async with _connect(after[0], lab_key) as conn:
            kept = await conn.run("cat var/kept; cat .lab-control/speed", check=True)
    finally:
        await second.stop()

    assert [node.host_public_key for node in after] == [node.host_public_key for node in before]
    assert after[0].host_public_key != after[1].host_public_key
    assert kept.stdout == "state\n7\n"


def test_layout_matches_reference_zones() -> None:
    by_id = {spec.node_id: spec for spec in ALL_LAB_NODES}

    assert len(ALL_LAB_NODES) == 21
    assert len(by_id) == 21
    assert by_id["n-pek3a01r03"].mgmt_ip == "172.16.80.5"
    assert by_id["n-pek3a01r08"].mgmt_ip == "172.16.80.10"
    assert by_id["n-pek3b01r01"].mgmt_ip == "172.16.80.3"
    assert by_id["n-pek3b01r05"] == LabNodeSpec("n-pek3b01r05", "pek3br01n05", "pek3b", "172.18.80.7")
    assert by_id["n-test2345"] == LabNodeSpec("n-test2345", "pek3ar01n10", "pek3a", "172.16.80.14")
    assert by_id["n-pek3cr01n6"] == LabNodeSpec("n-pek3cr01n6", "pek3cr01n06", "pek3c", "172.16.100.16")


@pytest.mark.parametrize(
    ("failures", "named"),
    [
        ([("n-nowhere", "install")], ["'n-nowhere'", "n-pek3a01r01", "n-pek3cr01n6"]),
        ([("pek3ar01n01", "reboot")], ["'reboot'", "preflight", "distribute_config", "verify"]),
    ],
)
def test_bad_failures_rejected(tmp_path: Path, failures: list[tuple[str, str]], named: list[str]) -> None:
    with pytest.raises(ValueError) as raised:
        Lab(tmp_path / "lab", failures=failures)

    for text in named:
        assert text in str(raised.value)


def test_bad_speed_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive number"):
        Lab(tmp_path / "lab", speed=0)
    with pytest.raises(ValueError, match="positive number"):
        set_speed(tmp_path, -1.5)


# -- the demo recipe's scripts ----------------------------------------------


def _node_conf(spec: LabNodeSpec, role: str, sub_roles: str) -> dict[str, object]:
    return {
        "node_id": spec.node_id,
        "hostname": spec.hostname,
        "zone_id": spec.zone_id,
        "role": role,
        "sub_roles": sub_roles.split(","),
        "mgmt_ip": spec.mgmt_ip,
    }


async def _stage(conn: asyncssh.SSHClientConnection, spec: LabNodeSpec, node_yaml: str) -> None:
    """Upload the recipe and this node's configuration the way the engine stages them."""
    async with conn.start_sftp_client() as sftp:
        await sftp.put(str(RECIPE_DIR), ".qingcloud-installer", recurse=True)
        await sftp.makedirs(".qingcloud-installer/conf", exist_ok=True)
        files = {
            f"variables.{spec.zone_id}.yaml": f"zone_id: {spec.zone_id}\ndeploy_mode: standard\n",
            f"settings.{spec.zone_id}.yaml": "roles: {}\n",
            "node.yaml": node_yaml,
        }
        for name, text in files.items():
            async with sftp.open(f".qingcloud-installer/conf/{name}", "w") as remote:
                await remote.write(text)


def _deploy_commands(role: str, sub_roles: str, spec: LabNodeSpec) -> list[tuple[str, str]]:
    """Return (step, command) pairs of the demo recipe's deploy for one node, in order.

    Tasks are selected and their placeholders filled as the engine's recipe model does.
    """
    recipe = load_recipe(RECIPE_DIR)
    values = {
        "stage": recipe.stage_dir,
        "node_id": spec.node_id,
        "hostname": spec.hostname,
        "zone_id": spec.zone_id,
        "role": role,
        "sub_roles": sub_roles,
        "mgmt_ip": spec.mgmt_ip,
    }
    commands = []
    for step in recipe.actions["DeployQingCloud"].steps:
        for task in step.tasks:
            if task.match.selects(role, sub_roles.split(",")):
                argv = [argument.format(**values) for argument in task.run]
                commands.append((step.name, shlex.join(argv)))
    return commands


NODE_CASES = [
    pytest.param(KS_VM, "ks-vm", "seed,vbr,snapshot", "block", id="ks-vm"),
    pytest.param(VG, "vg", "vgateway", "flow", id="vg"),
    pytest.param(FUSION_HYPER, "hyper-repl", "hyper,seed,vbr,snapshot", "string", id="fusion-hyper"),
]


def _node_yaml(spec: LabNodeSpec, role: str, sub_roles: str, style: str) -> str:
    # The scripts read sub_roles as a block list, a flow list or a plain string.
    conf = _node_conf(spec, role, sub_roles)
    if style == "block":
        return yaml.safe_dump(conf, sort_keys=False)
    if style == "flow":
        return yaml.safe_dump(conf, sort_keys=False, default_flow_style=None)
    conf["sub_roles"] = sub_roles
    return "# Written by hand for this test.\n" + yaml.safe_dump(conf, sort_keys=False)


@pytest.mark.parametrize(("spec", "role", "sub_roles", "style"), NODE_CASES)
async def test_deploy_scripts_run_twice(
    small_lab: Lab, lab_key: asyncssh.SSHKey, spec: LabNodeSpec, role: str, sub_roles: str, style: str
) -> None:
    node = small_lab.node(spec.node_id)
    commands = _deploy_commands(role, sub_roles, spec)
    state = node.root / "var" / "lib" / "qingcloud-demo"

    async with _connect(node, lab_key) as conn:
        await _stage(conn, spec, _node_yaml(spec, role, sub_roles, style))
        first = [(step, await conn.run(command)) for step, command in commands]
        packages_after_first = sorted(path.name for path in (state / "packages").iterdir())
        services_after_first = sorted(path.name for path in (state / "services").iterdir())
        second = [(step, await conn.run(command)) for step, command in commands]

    steps = [step for step, _ in commands]
    assert steps[0] == "preflight"
    assert steps[-1] == "verify"
    assert set(DEPLOY_STEPS) <= set(steps)
    for step, result in first + second:
        assert result.exit_status == 0, f"{step}: {result.stdout}{result.stderr}"
    assert "Normal" in first[-1][1].stdout
    assert "already installed" in dict(second)["install"].stdout
    assert "Unpacking" not in dict(second)["install"].stdout
    assert sorted(path.name for path in (state / "packages").iterdir()) == packages_after_first
    assert sorted(path.name for path in (state / "services").iterdir()) == services_after_first
    assert (node.root / "etc" / "qingcloud" / f"settings.{spec.zone_id}.yaml").is_file()
    assert (node.root / "etc" / "qingcloud" / "node.yaml").is_file()


async def test_fusion_hyper_runs_seed_services(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(FUSION_HYPER.node_id)
    role, sub_roles = "hyper-repl", "hyper,seed,vbr,snapshot"

    async with _connect(node, lab_key) as conn:
        await _stage(conn, FUSION_HYPER, _node_yaml(FUSION_HYPER, role, sub_roles, "block"))
        started = await conn.run("sh .qingcloud-installer/scripts/services.sh hyper", check=True)

    services = node.root / "var" / "lib" / "qingcloud-demo" / "services"
    assert (services / "dns.started").is_file()
    assert (services / "pitrix-snapshot.started").is_file()
    assert (services / "pitrix-hyper-agent.started").is_file()
    assert started.stdout.index("apache2") < started.stdout.index("libvirtd")


async def test_injected_failure_fails_once(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(VG.node_id)
    install = "sh .qingcloud-installer/scripts/install.sh vg vgateway"

    async with _connect(node, lab_key) as conn:
        await _stage(conn, VG, _node_yaml(VG, "vg", "vgateway", "block"))
        small_lab.set_failure(VG.hostname, "install")
        failed = await conn.run(install)
        retried = await conn.run(install)

    assert failed.exit_status == 1
    assert "step install failed" in failed.stderr
    assert VG.hostname in failed.stderr
    assert "Unpacking" not in failed.stdout
    assert retried.exit_status == 0
    assert "Setting up pitrix-vgateway" in retried.stdout


async def test_always_failure_until_cleared(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(KS_VM.node_id)
    preflight = "sh .qingcloud-installer/scripts/preflight.sh ks-vm seed,vbr,snapshot"

    async with _connect(node, lab_key) as conn:
        await _stage(conn, KS_VM, _node_yaml(KS_VM, "ks-vm", "seed,vbr,snapshot", "block"))
        set_failure(node.root, "preflight", once=False)
        first = await conn.run(preflight)
        second = await conn.run(preflight)
        clear_failures(node.root)
        cleared = await conn.run(preflight)

    assert (first.exit_status, second.exit_status, cleared.exit_status) == (1, 1, 0)
    assert "step preflight failed" in second.stderr


async def test_failures_given_to_lab_apply_at_start(tmp_path: Path, lab_key: asyncssh.SSHKey) -> None:
    lab = Lab(tmp_path / "lab", specs=[VG], speed=200, failures=[(VG.hostname, "distribute_config")])
    node = (await lab.start([_public_key(lab_key)]))[0]
    distribute = f"sh .qingcloud-installer/scripts/distribute.sh {VG.zone_id} vg"

    try:
        async with _connect(node, lab_key) as conn:
            await _stage(conn, VG, _node_yaml(VG, "vg", "vgateway", "block"))
            failed = await conn.run(distribute)
            retried = await conn.run(distribute)
    finally:
        await lab.stop()

    assert failed.exit_status == 1
    assert "step distribute_config failed" in failed.stderr
    assert retried.exit_status == 0


async def test_distribute_names_missing_file(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(VG.node_id)

    async with _connect(node, lab_key) as conn:
        await _stage(conn, VG, _node_yaml(VG, "vg", "vgateway", "block"))
        (node.root / ".qingcloud-installer" / "conf" / f"settings.{VG.zone_id}.yaml").unlink()
        result = await conn.run(f"sh .qingcloud-installer/scripts/distribute.sh {VG.zone_id} vg")

    assert result.exit_status == 1
    assert f"settings.{VG.zone_id}.yaml" in result.stderr
    assert f"variables.{VG.zone_id}.yaml" not in result.stderr


async def test_verify_lists_services_not_running(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(VG.node_id)

    async with _connect(node, lab_key) as conn:
        await _stage(conn, VG, _node_yaml(VG, "vg", "vgateway", "block"))
        result = await conn.run("sh .qingcloud-installer/scripts/verify.sh vg vgateway")

    assert result.exit_status == 1
    assert "keepalived, haproxy, pitrix-vgateway" in result.stderr


async def test_unknown_role_rejected(small_lab: Lab, lab_key: asyncssh.SSHKey) -> None:
    node = small_lab.node(VG.node_id)

    async with _connect(node, lab_key) as conn:
        await _stage(conn, VG, _node_yaml(VG, "vg", "vgateway", "block"))
        result = await conn.run("sh .qingcloud-installer/scripts/preflight.sh gateway vgateway")

    assert result.exit_status == 1
    assert "unknown role 'gateway'" in result.stderr
    assert "ks-vm, vg, hyper, hyper-repl" in result.stderr


def test_prepare_node_dir_keeps_state(tmp_path: Path) -> None:
    root = tmp_path / "node"
    prepare_node_dir(root, hostname="pek3ar01n05", mgmt_ip="172.16.80.7", speed=3)
    (root / "var").mkdir()
    prepare_node_dir(root, hostname="pek3ar01n05", mgmt_ip="172.16.80.7", speed=4)

    assert (root / ".lab-node" / "hostname").read_text() == "pek3ar01n05\n"
    assert "vmx" in (root / ".lab-node" / "cpuinfo").read_text().split()
    assert (root / ".lab-node" / "nics").read_text() == "nic=eth0 172.16.80.7/24\n"
    assert (root / ".lab-control" / "speed").read_text() == "4\n"
    assert (root / "var").is_dir()


async def test_session_failure_outlasts_step_retries(tmp_path):
    """A --lab-fail on a retried step fails the whole deploy job, then the re-run succeeds."""
    from engine.engine import Engine
    from engine.lab.session import LabSession

    engine = Engine(tmp_path / "state")
    session = LabSession(engine, speed=200, failures=[("pek3ar01n05", "install")])
    await session.start()
    marker = session.lab.node_root("pek3ar01n05") / ".lab-control" / "fail" / "install"
    try:
        attempts = session.step_attempts("install")
        assert attempts == 2
        assert marker.read_text().strip() == "2"
    finally:
        await session.stop()
        await engine.stop()
