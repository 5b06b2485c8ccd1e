"""Runs examples/python-webhooks through the real Pulumi engine with the Automation API's inline
program (the Python SDK hosts its own language runtime, so pulumi-language-python is not needed),
the gemini plugin from PULUMI_HOME and a file:// backend. Prints one JSON line per step.

Usage: run_python_example.py <example-dir> <work-dir> <pulumi-home> <base-url>   (API key: GEMINI_API_KEY)
The backend and the stack config file live in <work-dir>.
"""
import json
import os
import runpy
import sys

from pulumi import automation as auto

example, work_dir, home, base_url = sys.argv[1:5]
os.makedirs(work_dir, exist_ok=True)


def program():
    runpy.run_path(os.path.join(example, "__main__.py"), run_name="__main__")


workspace = auto.LocalWorkspaceOptions(
    pulumi_home=home,
    work_dir=work_dir,
    project_settings=auto.ProjectSettings(
        name="python-webhooks", runtime="python", backend=auto.ProjectBackend(url=f"file://{work_dir}")
    ),
    env_vars={"PULUMI_CONFIG_PASSPHRASE": "python-example", "PULUMI_SKIP_UPDATE_CHECK": "true"},
)
stack = auto.create_or_select_stack(stack_name="dev", project_name="python-webhooks", program=program, opts=workspace)
stack.set_config("gemini:baseUrl", auto.ConfigValue(base_url))


def step(name, result):
    outputs = {k: {"value": v.value, "secret": v.secret} for k, v in stack.outputs().items()}
    changes = dict(result.summary.resource_changes or {}) if hasattr(result, "summary") else {}
    print(json.dumps({"step": name, "outputs": outputs, "changes": changes}), flush=True)


step("up", stack.up())
step("up-again", stack.up())
stack.set_config("rotationKey", auto.ConfigValue("2027-01"))
step("rotate", stack.up())
step("destroy", stack.destroy())
