#!/usr/bin/env python3
"""Do a charger's local actions when CertLab asks for them, through CertLab's API.

Beside ``manage.py run_campaign`` (or QA running steps in the browser), this waits for the next
prompt of any attempt on one station (a long-poll that returns the moment a prompt opens), runs
the shell command you gave for the prompt's kind (present an RFID tag, plug the cable in, switch
the charger off and on, ...), and answers the prompt "Done" when the command succeeds, "Cannot do"
when it fails. Prompts of a kind without a command are left to a person in the browser.

    CERTLAB_URL=http://lab:8000 CERTLAB_TOKEN=certlab_... \\
        python scripts/charger_actions.py --station HK-0001 --actions my-charger.json

The actions file maps prompt kinds to commands; the prompt's details fill the braces:

    {"present_tag": "./rfid-emulator --tap {id_tag}",
     "plug_in": "./relay cable-{connector_id} on",
     "unplug": "./relay cable-{connector_id} off",
     "power_cycle": "./relay mains off && sleep 5 && ./relay mains on"}

Kinds: present_tag (connector_id, id_tag), plug_in, unplug (connector_id), power_cycle, fault
(connector_id, error_code), clear_fault (connector_id), go_offline (seconds).
scripts/simulator-actions.json does them on CertLab's simulator through its standard input.
Only the Python standard library is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

WAIT = 30  # s of one long-poll; CertLab answers at once when a prompt opens


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.base = url.rstrip("/") + "/api/v1/"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 10):
        data = None if body is None else json.dumps(body).encode()
        headers = {**self.headers, **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def station_id(api: Api, charge_point_id: str) -> int:
    query = urllib.parse.urlencode({"charge_point_id": charge_point_id})
    status, body = api.call("GET", f"stations/?{query}")
    if status != 200:
        sys.exit(f"CertLab answered {status}: {body}")
    for station in body["results"]:
        if station["charge_point_id"] == charge_point_id:
            return station["id"]
    sys.exit(f"No station {charge_point_id!r} you may see in CertLab.")


def do(prompt: dict, actions: dict[str, str]) -> tuple[str, str] | None:
    """Run the prompt's command; the answer to give, or None when it is a person's to do."""
    command = actions.get(prompt["kind"])
    if command is None:
        return None
    details = prompt["details"]
    try:
        done = subprocess.run(command.format(**details), shell=True, timeout=120).returncode == 0
    except (KeyError, subprocess.TimeoutExpired) as error:
        print(f"  the command failed: {error!r}", flush=True)
        done = False
    choices = prompt["choices"]
    choice = (
        ("Done" if "Done" in choices else choices[0])
        if done
        else ("Cannot do" if "Cannot do" in choices else choices[-1])
    )
    return choice, str(details.get("id_tag", details.get("error_code", "")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--station", required=True, help="the station's charge point id")
    parser.add_argument("--actions", required=True, help="JSON file: prompt kind -> command")
    parser.add_argument("--url", default=os.environ.get("CERTLAB_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("CERTLAB_TOKEN"))
    args = parser.parse_args()
    if not args.token:
        sys.exit("Give a personal API token (--token or CERTLAB_TOKEN); make one on /api/tokens/.")
    with open(args.actions) as file:
        actions = json.load(file)
    api = Api(args.url, args.token)
    station = station_id(api, args.station)
    print(f"Following the prompts of {args.station} (station {station})", flush=True)
    after, failures = 0, 0
    while True:
        try:
            status, body = api.call(
                "GET",
                f"stations/{station}/prompts/next/?after={after}&timeout={WAIT}",
                timeout=WAIT + 10,
            )
        except (urllib.error.URLError, OSError) as error:
            failures += 1  # CertLab restarting: try again, a little later each time
            print(f"CertLab unreachable ({error}); retrying", flush=True)
            time.sleep(min(30, failures))
            continue
        failures = 0
        if status != 200:
            sys.exit(f"CertLab answered {status}: {body}")
        prompt = body["prompt"]
        if prompt is None:
            continue
        after = prompt["id"]
        print(f"prompt {prompt['id']} [{prompt['kind']}]: {prompt['text']}", flush=True)
        answer = do(prompt, actions)
        if answer is None:
            print("  no command for this kind: left to a person in the browser", flush=True)
            continue
        status, body = api.call(
            "POST", f"prompts/{prompt['id']}/answer/", {"choice": answer[0], "value": answer[1]}
        )
        print(f"  answered {answer[0]}" if status == 200 else f"  not answered: {body}", flush=True)


if __name__ == "__main__":
    main()
