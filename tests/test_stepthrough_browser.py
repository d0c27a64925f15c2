"""The step-through page in a real browser (headless Chromium): opened from disk, it steps through
the engine's own numbers with the buttons, the slider and the keys, and loads nothing."""

import shutil

import pytest

from autograd import Value, step_through, steps, topological_order
from autograd.drawing.steps import BackwardStep, ForwardStep

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None, reason="the Graphviz program is missing"
)

# The texts of every record in the drawing, by record name: {"x1": ["data 1.5", "grad"], ...}
RECORD_TEXTS = """() => Object.fromEntries(
  [...document.querySelectorAll("#graph g.node")]
    .filter((g) => /^v\\d+$/.test(g.querySelector("title").textContent))
    .map((g) => {
      const [name, ...fields] = [...g.querySelectorAll("text")].map((t) => t.textContent);
      return [name, fields];
    }))"""


def neuron():
    x1, w1 = Value(1.5, label="x1"), Value(-0.8, label="w1")
    x2, w2 = Value(-0.5, label="x2"), Value(0.4, label="w2")
    o = (x1 * w1 + x2 * w2 + Value(0.3, label="b")).tanh()
    o.label = "o"
    return o


class Visit:
    """A page opened from disk, with every request it makes and every script error it meets."""

    def __init__(self, browser, path):
        self.page = browser.new_page(viewport={"width": 1200, "height": 800})
        self.requests, self.errors = [], []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.url = path.as_uri()
        self.page.goto(self.url)

    def records(self):
        return self.page.evaluate(RECORD_TEXTS)

    def text(self, selector):
        return self.page.inner_text(selector)

    def position(self):
        return int(self.text("#counter").split(" / ")[0])


@pytest.fixture
def visit(chromium, tmp_path):
    opened = []

    def open_page(root, name="backprop.html", **options):
        path = step_through(root, **options).save(tmp_path / name)
        opened.append(Visit(chromium, path))
        return opened[-1]

    yield open_page
    for page in opened:
        assert page.requests == [page.url], "the page asked for more than itself"
        assert page.errors == []
        page.page.close()


def test_stepping_shows_each_value_then_each_chain_rule_step_with_the_engines_numbers(
    visit, tmp_path
):
    o = neuron()
    records = steps(o)
    name = {r.node: r.name for r in records if isinstance(r, ForwardStep)}
    o.backward()  # the engine's numbers, which the page must show
    page = visit(o)
    assert page.text("#counter") == f"0 / {len(records)}"
    assert all(fields == ["data", "grad"] for fields in page.records().values())

    seen = [page.records()]
    running = {}
    for record in records:
        page.page.click("#next")
        assert page.text("#arithmetic") == str(record)
        shown = page.records()
        seen.append(shown)
        if isinstance(record, ForwardStep):
            assert shown[record.name][0] == f"data {record.node.data:.4g}"
            assert all(fields[1] == "grad" for fields in shown.values())  # blank, not 0
            continue
        assert page.page.get_attribute("#phase-backward", "aria-pressed") == "true"
        if record.child is None:
            assert page.text("#arithmetic") == "o.grad = 1"
            running[o] = 1.0
        else:
            child, parent = record.child, record.parent
            local = child.local_derivatives[list(child.parents).index(parent)]
            expected = (
                f"{name[parent]}.grad += {record.local_formula} * {name[child]}.grad"
                f" = {local:.4g} * {child.grad:.4g} = {local * child.grad:.4g}"
            )
            assert page.text("#arithmetic") == expected
            running[parent] = running.get(parent, 0.0) + local * child.grad
        for node, value in running.items():
            assert shown[name[node]][1] == f"grad {value:.4g}"
        not_yet = set(name) - set(running)
        assert all(shown[name[node]][1] == "grad" for node in not_yet)
    assert "x1.grad += w1 * n1.grad = -0.8 * 0.3592 = -0.2874" in [str(r) for r in records]
    assert seen[-1] == {name[node]: [f"data {node.data:.4g}", f"grad {node.grad:.4g}"]
                        for node in topological_order(o)}  # fmt: skip
    assert page.page.is_disabled("#next")
    page.page.screenshot(path=tmp_path / "backprop.png", full_page=True)
    assert (tmp_path / "backprop.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.page.click("#back")
    page.page.click("#back")
    assert page.position() == len(records) - 2 and page.records() == seen[-3]

    page.page.eval_on_selector(
        "#slider", "(s) => { s.value = '5'; s.dispatchEvent(new Event('input')); }"
    )
    assert page.position() == 5 and page.records() == seen[5]
    page.page.focus("#slider")
    page.page.keyboard.press("End")  # the slider's own keys
    assert page.position() == len(records) and page.records() == seen[-1]


def test_the_arrow_keys_home_end_and_the_phase_switch_move_through_the_steps(visit):
    o = neuron()
    records = steps(o)
    n_forward = sum(isinstance(r, ForwardStep) for r in records)
    page = visit(o)
    for _ in range(3):
        page.page.keyboard.press("ArrowRight")
    assert page.position() == 3 and page.text("#arithmetic") == str(records[2])
    page.page.keyboard.press("ArrowLeft")
    assert page.position() == 2 and page.text("#arithmetic") == str(records[1])
    page.page.keyboard.press("End")
    assert page.position() == len(records)
    page.page.keyboard.press("Home")
    assert page.position() == 0
    page.page.focus("#slider")  # on the slider too, one step per key
    page.page.keyboard.press("ArrowRight")
    assert page.position() == 1
    page.page.keyboard.press("ArrowRight")
    assert page.position() == 2 and page.text("#arithmetic") == str(records[1])
    page.page.keyboard.press("Home")

    page.page.click("#phase-backward")
    assert page.position() == n_forward + 1 and page.text("#arithmetic") == "o.grad = 1"
    assert page.page.get_attribute("#phase-backward", "aria-pressed") == "true"
    assert all(fields[0].startswith("data ") and fields[0] != "data"
               for fields in page.records().values())  # fmt: skip
    page.page.click("#phase-forward")
    assert page.position() == 0
    assert page.page.get_attribute("#phase-forward", "aria-pressed") == "true"


def test_play_steps_on_by_itself_until_paused(visit):
    page = visit(neuron())
    page.page.click("#play")
    assert page.text("#play") == "Pause"
    page.page.wait_for_function("document.getElementById('counter').textContent[0] >= '2'")
    page.page.click("#play")
    stopped = page.position()
    page.page.wait_for_timeout(1200)
    assert page.position() == stopped >= 2 and page.text("#play") == "Play"


def test_a_node_used_twice_shows_each_of_its_sums(visit):
    a = Value(2.0, label="a")
    y = (a + a) * a
    records = steps(y)
    page = visit(y)
    grads = []
    for record in records:
        page.page.keyboard.press("ArrowRight")
        if isinstance(record, BackwardStep) and record.parent is a:
            grads.append((page.text("#arithmetic"), page.records()["a"][1]))
    y.backward()
    assert grads == [
        ("a.grad += n1 * n2.grad = 4 * 1 = 4", "grad 4"),
        ("a.grad += 1 * n1.grad = 1 * 2 = 2, so a.grad = 4 + 2 = 6", "grad 6"),
        ("a.grad += 1 * n1.grad = 1 * 2 = 2, so a.grad = 6 + 2 = 8", "grad 8"),
    ]
    assert a.grad == 8.0


def test_a_collapsed_network_steps_a_box_at_a_time_to_the_engines_gradients(visit, tmp_path):
    from nn import MLP

    x1, x2 = Value(0.5, label="x1"), Value(-1.0, label="x2")
    y = MLP(2, [4, 4, 1], seed=0)([x1, x2])
    page = visit(y, collapse="neuron")
    assert page.text("#counter") == "0 / 20"  # 2 inputs and 9 boxes forward, 9 boxes back
    for _ in range(3):
        page.page.keyboard.press("ArrowRight")
    assert page.text("#headline") == "MLP/layer 0/neuron 0: 6 steps of the forward pass as one box"
    lit = page.page.eval_on_selector("#graph g.node.current", "(g) => g.textContent")
    assert "MLP/layer 0/neuron 0" in lit
    page.page.keyboard.press("End")
    y.backward()
    assert page.records() == {
        "x1": ["data 0.5", f"grad {x1.grad:.4g}"],
        "x2": ["data -1", f"grad {x2.grad:.4g}"],
    }
    page.page.screenshot(path=tmp_path / "collapsed.png")
    assert (tmp_path / "collapsed.png").stat().st_size > 10_000


def test_the_page_jupyter_shows_works_inside_its_frame(chromium, tmp_path):
    o = neuron()
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><body>{step_through(o)._repr_html_()}</body>", "utf-8")
    visit = Visit(chromium, host)
    frame = visit.page.frame_locator("iframe")
    for _ in range(3):
        frame.locator("#next").click()
    assert frame.locator("#arithmetic").inner_text() == "n1 = x1 * w1 = 1.5 * -0.8 = -1.2"
    assert visit.requests == [visit.url] and visit.errors == []
    visit.page.close()


def test_zoom_fits_the_drawing_to_the_page_and_scales_it_by_steps(visit):
    page = visit(neuron())
    width = "() => document.querySelector('#graph svg').getBoundingClientRect().width"
    room = page.page.evaluate("() => document.getElementById('graph').clientWidth")
    page.page.click("#zoom-fit")
    fitted = page.page.evaluate(width)
    assert room - 5 <= fitted <= room
    page.page.click("#zoom-in")
    assert page.page.evaluate(width) == pytest.approx(fitted * 1.25, rel=1e-3)
    page.page.click("#zoom-out")
    page.page.click("#zoom-out")
    assert page.page.evaluate(width) == pytest.approx(fitted / 1.25, rel=1e-3)
