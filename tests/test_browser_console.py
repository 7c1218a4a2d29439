"""A real browser on the real server: headless Chromium (Debian's package, driven by Selenium through Debian's
chromedriver; nothing is downloaded) opens /console, finds a 1+3+9 bundle, starts its activation and watches every
node of the tree turn `active` through the subscription. GraphiQL and Swagger UI render with every resource
loaded from the server itself. On failure a screenshot is saved (its path is in the failure message).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_e2e_serve import API, server  # noqa: F401  (the fixture: a real uvicorn process)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT = 120.0  # generous: a shared, slow machine

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium and chromium-driver (.ci/run installs them)")
    pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402  (after the skip: only where a browser exists)
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture
def browser(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def bundle_1_3_9(prefix: str) -> dict[str, Any]:
    def member(i: int) -> dict[str, Any]:
        return {"id": f"{prefix}-m{i}", "name": f"member {i}", "isBundle": True,
                "serviceSpecification": {"id": "spec-site", "name": "site"},
                "supportingService": [{"id": f"{prefix}-m{i}-{j}", "name": f"leaf {i}.{j}",
                                       "serviceSpecification": {"id": "spec-leaf", "name": "leaf"}}
                                      for j in range(1, 4)]}

    return {"id": f"{prefix}-root", "name": f"{prefix} bundle", "state": "designed", "isBundle": True,
            "serviceSpecification": {"id": "spec-vpn", "name": "vpn"},
            "supportingService": [member(i) for i in range(1, 4)]}


def resources(driver: webdriver.Chrome) -> list[str]:
    names: list[str] = driver.execute_script(
        "return [location.href, ...performance.getEntriesByType('resource').map(e => e.name)]")
    return names


def screenshot_on_failure(driver: webdriver.Chrome, tmp_path: Path, name: str) -> Any:
    class Guard:
        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
            if exc is not None:
                path = tmp_path / f"{name}.png"
                driver.save_screenshot(str(path))
                (tmp_path / f"{name}.html").write_text(driver.page_source)
                exc.add_note(f"screenshot of the page: {path} (and its HTML beside it)")

    return Guard()


def click(driver: webdriver.Chrome, selector: str) -> bool:
    """Click the element once it is there; False (try again) while the page redraws it."""
    try:
        driver.find_element(By.CSS_SELECTOR, selector).click()
    except (NoSuchElementException, StaleElementReferenceException):
        return False
    return True


def test_console_activates_a_1_3_9_bundle_and_shows_every_node_active_live(
    server: str, browser: webdriver.Chrome, tmp_path: Path  # noqa: F811
) -> None:
    created = httpx.post(f"{server}{API}/service", json=bundle_1_3_9("b139"), timeout=WAIT)
    assert created.status_code in (201, 202), created.text
    ids = ["b139-root"] + [f"b139-m{i}" for i in range(1, 4)] + [f"b139-m{i}-{j}" for i in range(1, 4)
                                                               for j in range(1, 4)]
    browser.get(f"{server}/console")
    wait = WebDriverWait(browser, WAIT)
    with screenshot_on_failure(browser, tmp_path, "console"):
        box = wait.until(lambda d: d.find_element(By.ID, "q"))
        box.send_keys("^b139 bundle$")
        browser.find_element(By.CSS_SELECTOR, "#search button[type=submit]").click()
        wait.until(lambda d: click(d, '#results li[data-id="b139-root"]'))

        def states(d: Any) -> dict[str, str]:  # read in one script: the page may redraw the tree meanwhile
            found: dict[str, str] = d.execute_script(
                "return Object.fromEntries([...document.querySelectorAll('#tree [data-node]')].map("
                "n => [n.dataset.node, n.querySelector(':scope > .node > .state').dataset.state]))")
            return found

        wait.until(lambda d: len(states(d)) == 13 and set(states(d).values()) == {"designed"})
        assert sorted(states(browser)) == sorted(ids)
        wait.until(lambda d: d.find_element(By.ID, "live").text == "on")  # the tree subscription is open
        wait.until(lambda d: click(d, "#activate"))
        wait.until(lambda d: set(states(d).values()) == {"active"})
        # The monitor's per-member progress shows every member completed.
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#monitor td.completed")) == 13)
        assert not browser.find_elements(By.CSS_SELECTOR, "#message.error")
        assert all(name.startswith(server) for name in resources(browser)), resources(browser)


def test_graphiql_and_swagger_ui_render_from_the_server_alone(
    server: str, browser: webdriver.Chrome, tmp_path: Path  # noqa: F811
) -> None:
    wait = WebDriverWait(browser, WAIT)
    with screenshot_on_failure(browser, tmp_path, "graphiql"):
        browser.get(f"{server}/graphql")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-container .graphiql-editors"))
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        assert all(name.startswith(server) for name in resources(browser)), resources(browser)
    with screenshot_on_failure(browser, tmp_path, "swagger"):
        browser.get(f"{server}/swagger")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"))
        assert "ServiceActivationAndConfiguration" in browser.page_source or "Service" in browser.page_source
        names = resources(browser)
        assert any(name.endswith("/swagger.json") for name in names), names
        assert all(name.startswith(server) for name in names), names
