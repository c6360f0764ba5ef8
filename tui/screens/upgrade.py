"""The upgrade screen: the installer packages, the planned node order, and the UpgradeQingCloud job.

DescribeQingCloudPackages lists every package of the engine's packages
directory with why the engine would reject it, the installed version, and
the order an upgrade takes the deployed nodes in: role by role, one node at a
time. F7 shows a confirmation that names the version change and the number
of nodes, then runs UpgradeQingCloud and follows it. A failed upgrade shows the
engine's last message, which says where it stopped; F9 runs the same package
again, and the engine skips the nodes already upgraded.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import ContentSwitcher, Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import N_, _
from tui.screens.base import InstallerScreen, is_ok
from tui.screens.job_watch import JobWatch
from tui.widgets.api_error import ApiErrorPanel
from tui.widgets.job_panes import JobPanes, newest_unfinished_job
from tui.widgets.platform_line import PlatformLine
from tui.wizard.dialogs import ConfirmDialog
from tui.wizard.widgets import plain

UPGRADE = "UpgradeQingCloud"

INDENT = "    "


def package_prompt(package: dict[str, Any]) -> Content:
    """Return a package's lines in the list.

    The first line has the version, build date, OS/arch and whether the package
    is usable. The file name follows, then the engine's reason for an unusable one.
    """
    version = str(package.get("version") or "?")
    os_arch = "/".join(part for part in (package.get("os"), package.get("arch")) if part) or "-"
    if package.get("upgradable"):
        usable = (_("usable"), "$text-success")
    else:
        usable = (_("not usable"), "bold $text-error")
    lines = [
        Content.assemble((f"{version:<8}", "bold"), f"{package.get('build_date') or '-':<12}", f"{os_arch:<16}",
                         usable),
        Content(INDENT + str(package.get("package_name") or "")),
    ]
    if not package.get("upgradable"):
        problem = str(package.get("problem") or _("the engine gave no reason"))
        lines.append(Content.styled(INDENT + problem, "$text-error"))
    return Content("\n").join(lines)


def plan_lines(plan: list[dict[str, Any]]) -> list[str]:
    """Return the upgrade order: one line per role, its nodes in the order they are upgraded."""
    return [_("{position}. {role} ({count}): {hostnames}").format(
        position=position, role=entry.get("role") or "-", count=len(entry.get("hostnames") or []),
        hostnames=", ".join(entry.get("hostnames") or []) or "-")
        for position, entry in enumerate(plan, start=1)]


def node_count(plan: list[dict[str, Any]]) -> int:
    return sum(len(entry.get("hostnames") or []) for entry in plan)


class UpgradeScreen(InstallerScreen):
    """Lists the packages and the upgrade order, and runs UpgradeQingCloud; see the module docstring."""

    CSS_PATH = "upgrade.tcss"

    HELP = N_(
        "Upgrades the platform from an installer package in the engine's packages directory "
        "(UpgradeQingCloud).\n"
        "\n"
        "1. The packages are listed with why the engine would reject the ones it cannot use; up and down "
        "choose one.\n"
        "2. The upgrade order is shown below them: role by role, one node at a time.\n"
        "3. F7 asks before upgrading to the highlighted package, naming the versions and the nodes.\n"
        "4. The job's steps and log follow. After a failure the engine's last message says where it "
        "stopped; F9 runs the same package again and the nodes upgraded already are skipped.\n"
        "5. F6 shows the packages again; ^R reads them again."
    )

    BINDINGS = [
        Binding("ctrl+r", "refresh", N_("Refresh")),
        Binding("f6", "show_packages", N_("Packages")),
        Binding("f7", "upgrade", N_("Upgrade")),
        Binding("f9", "run_again", N_("Run again")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.described: dict[str, Any] = {}
        self.packages: list[dict[str, Any]] = []
        self.job_running = False
        self.job_failed = False
        self.job_package = ""
        """The package of the job shown in the panes, which F9 runs again."""
        self.confirming = False
        """True from showing the confirmation until the screen resumes after it."""

    def compose(self) -> ComposeResult:
        yield PlatformLine()
        yield Static(_("Reading the packages..."), id="upgrade-state")
        with ContentSwitcher(initial="upgrade-packages", id="upgrade-body"):
            with Vertical(id="upgrade-packages"):
                yield Label(_("Packages (up and down choose, F7 upgrades to the highlighted one):"),
                            classes="section-title")
                yield OptionList(id="upgrade-package-list", compact=True)
                yield Label(_("Upgrade order: role by role, one node at a time"), classes="section-title")
                with VerticalScroll(id="upgrade-plan-scroll"):
                    yield Static("", id="upgrade-plan")
            yield JobPanes(id="upgrade-job")
        yield ApiErrorPanel()
        yield Footer(show_command_palette=False, compact=True)

    def on_screen_resume(self) -> None:
        # The confirmation closing resumes the screen too, and its result decides what shows next.
        if self.confirming:
            self.confirming = False
            return
        # A deploy or scale-out on another screen changes which nodes an upgrade takes.
        if not self.job_running and self.showing_packages:
            self.load()

    @property
    def showing_packages(self) -> bool:
        return self.query_one(ContentSwitcher).current == "upgrade-packages"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.job_running:
            return False
        if action == "refresh":
            return self.showing_packages
        if action == "upgrade":
            if not self.showing_packages:
                return False
            package = self.highlighted_package()
            return True if package is not None and package.get("upgradable") else None
        if action == "show_packages":
            return not self.showing_packages
        if action == "run_again":
            return not self.showing_packages and self.job_failed and bool(self.job_package)
        return True

    def show_state(self, text: str, style: str = "") -> None:
        self.query_one("#upgrade-state", Static).update(plain(text, style))

    # The packages and the plan.

    def action_refresh(self) -> None:
        if self.job_running:
            return
        self.error_panel.clear()
        self.load()

    @work(exclusive=True, group="upgrade-load")
    async def load(self) -> None:
        running = await newest_unfinished_job(self.call_api, UPGRADE)
        if running is not None:
            await self.resume_job(running)
            return
        await self.read_packages()

    async def read_packages(self) -> None:
        response = await self.call_api("DescribeQingCloudPackages")
        if not is_ok(response):
            self.show_state(_("The packages could not be read; see the error below."), "$text-error")
            return
        self.described = response
        self.packages = list(response.get("package_set") or [])
        self.show_packages()

    def show_packages(self) -> None:
        package_list = self.query_one("#upgrade-package-list", OptionList)
        highlighted = self.highlighted_package()
        package_list.clear_options()
        for index, package in enumerate(self.packages):
            package_list.add_option(Option(package_prompt(package), id=str(index)))

        names = [package.get("package_name") for package in self.packages]
        if self.packages:
            # The first usable package is the likely choice; a package highlighted before stays so.
            usable = next((index for index, package in enumerate(self.packages) if package.get("upgradable")), 0)
            if highlighted is not None and highlighted.get("package_name") in names:
                usable = names.index(highlighted.get("package_name"))
            package_list.highlighted = usable
        package_list.focus()

        plan = self.described.get("upgrade_plan") or []
        self.query_one("#upgrade-plan", Static).update(plain("\n".join(plan_lines(plan)) or _(
            "No node is deployed, so there is nothing to upgrade yet.")))
        self.show_target()

    def highlighted_package(self) -> dict[str, Any] | None:
        package_list = self.query_one("#upgrade-package-list", OptionList)
        if package_list.highlighted is None or not 0 <= package_list.highlighted < len(self.packages):
            return None
        return self.packages[package_list.highlighted]

    @on(OptionList.OptionHighlighted, "#upgrade-package-list")
    def package_highlighted(self) -> None:
        self.show_target()

    def show_target(self) -> None:
        if not self.showing_packages:
            return
        installed = self.described.get("installed_version") or "-"
        directory = self.described.get("packages_dir") or "-"
        package = self.highlighted_package()
        if not self.packages:
            self.show_state(_("Installed version {installed}. No package in {directory}: copy the installer "
                              "package and its .sha256 file there, then press ctrl+r.").format(
                installed=installed, directory=directory), "$text-warning")
        elif package is not None and package.get("upgradable"):
            self.show_state(_("Installed version {installed}, target version {version}. F7 upgrades "
                              "{count} node(s).").format(installed=installed, version=package.get("version"),
                                                         count=node_count(self.described.get("upgrade_plan") or [])))
        else:
            self.show_state(_("Installed version {installed}. The highlighted package cannot be used; "
                              "packages are read from {directory}.").format(installed=installed, directory=directory),
                            "$text-warning")
        self.refresh_bindings()

    # Upgrading.

    def action_upgrade(self) -> None:
        package = self.highlighted_package()
        if self.job_running or not self.showing_packages or package is None:
            return
        if not package.get("upgradable"):
            self.show_state(_("{package} cannot be used: {problem}").format(
                package=package.get("package_name"), problem=package.get("problem") or "-"), "$text-error")
            return
        self.confirm_upgrade(package)

    @work(exclusive=True, group="upgrade-job")
    async def confirm_upgrade(self, package: dict[str, Any]) -> None:
        plan = self.described.get("upgrade_plan") or []
        installed = self.described.get("installed_version") or "-"
        roles = ", ".join(str(entry.get("role")) for entry in plan) or "-"
        self.confirming = True
        confirmed = await self.app.push_screen_wait(ConfirmDialog(
            _("Upgrade the platform from {installed} to {version}?").format(
                installed=installed, version=package.get("version")),
            _("UpgradeQingCloud installs {package} on {count} node(s), role by role ({roles}) and one node at a "
              "time: each node's health check must pass before the next node starts.").format(
                package=package.get("package_name"), count=node_count(plan), roles=roles),
        ))
        if not confirmed:
            self.show_state(_("Upgrade cancelled; nothing was changed."), "$text-warning")
            return
        await self.run_upgrade(str(package.get("package_name")))

    def action_run_again(self) -> None:
        if self.job_running or not self.job_failed or not self.job_package:
            return
        self.run_again(self.job_package)

    @work(exclusive=True, group="upgrade-job")
    async def run_again(self, package_name: str) -> None:
        await self.run_upgrade(package_name)

    def set_running(self, running: bool) -> None:
        self.job_running = running
        self.refresh_bindings()

    async def run_upgrade(self, package_name: str) -> None:
        self.error_panel.clear()
        self.set_running(True)
        try:
            response = await self.call_api(UPGRADE, {"package_name": package_name})
            if not is_ok(response):
                self.show_state(_("The upgrade did not start; the engine's reason is below."), "$text-error")
                return
            self.job_package = package_name
            await self.follow(str(response["job_id"]))
        finally:
            self.set_running(False)

    async def resume_job(self, status: dict[str, Any]) -> None:
        """Follow an upgrade that was started before this screen was (re)opened."""
        job_id = str(status["job_id"])
        described = await self.call_api("DescribeJobs", {"job_ids": [job_id]}, "Job", show_error=False)
        if is_ok(described):
            jobs = described.get("job_set") or []
            self.job_package = str(((jobs[0] if jobs else {}).get("resources") or {}).get("package_name") or "")
        self.set_running(True)
        try:
            await self.follow(job_id)
        finally:
            self.set_running(False)

    async def follow(self, job_id: str) -> None:
        panes = self.query_one(JobPanes)
        self.job_failed = False
        self.query_one(ContentSwitcher).current = "upgrade-job"
        self.show_state(_("Upgrade job {job_id} with {package} is running.").format(
            job_id=job_id, package=self.job_package or "-"))

        watch = JobWatch(self.call_api, UPGRADE, job_id)
        status = await panes.follow(watch, self.app.poll_interval)  # type: ignore[attr-defined]
        if status is None:
            return
        if status.get("status") == "successful":
            await self.read_packages()
            self.query_one(ContentSwitcher).current = "upgrade-job"
            text = _("Upgrade job {job_id} finished successfully: the installed version is now {version}.").format(
                job_id=job_id, version=self.described.get("installed_version") or "-")
            panes.show_outcome([text], "-success")
            self.show_state(text, "$text-success")
            return

        self.job_failed = True
        summary, _tail = await panes.describe_failure(watch, status)
        lines = [*summary, _("The engine's last message: {message}").format(message=panes.last_line or "-")]
        if self.job_package:
            lines.append(_("Press F9 to run the upgrade with {package} again: the nodes upgraded already are "
                           "skipped.").format(package=self.job_package))
        panes.show_outcome(lines, "-error")
        self.show_state(_("Upgrade job {job_id} failed.").format(job_id=job_id), "$text-error")

    def action_show_packages(self) -> None:
        if self.job_running:
            return
        self.query_one(ContentSwitcher).current = "upgrade-packages"
        self.error_panel.clear()
        self.load()
