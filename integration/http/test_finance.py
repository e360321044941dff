"""Finance exports as their readers take them: Python's csv module, psql's \\copy into a typed table
(every value identical), JSON Lines, the FinOps Foundation's focus-validator for FOCUS 1.0, and the
command line giving what the API gives."""
import csv
import io
import json
import os
import subprocess
import time
import uuid

import pytest
import requests

from instances import seeded_tenant

CSV_HEADER = ["tenant", "tenant_id", "day", "model", "model_version", "cost_center",
              "requests", "input_tokens", "output_tokens", "cost_micros", "cost", "currency", "unpriced_requests"]


@pytest.fixture(scope="module")
def billed(base_url, admin):
    """A tenant with a price (0.75 and 3.25 per million tokens), cost centers on a principal and a
    key, usage of a priced and an unpriced model, and a finance principal's key."""
    slug, tenant_id, account_id, key_id, key = seeded_tenant(base_url, admin, role="tenant_admin")
    model = f"fin-{uuid.uuid4().hex[:10]}"
    admin.post(f"{base_url}/v1/tenants/{slug}/prices", json={
        "model": model, "currency": "USD", "input_micros_per_million": 750_000, "output_micros_per_million": 3_250_000,
        "effective_from": "2020-01-01T00:00:00Z"}).raise_for_status()
    team = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts",
                      json={"name": "team", "cost_center": "sales,\"quoted\""})
    assert team.status_code == 400, team.text  # a cost center is an identifier, not free text
    team = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "team", "cost_center": "sales-emea"}).json()
    lab_key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys",
                         json={"principal_id": team["id"], "name": "lab", "cost_center": "lab.2"}).json()
    events = [
        # 333 × 0.75 + 77 × 3.25 = 249.75 + 250.25 = 500 micro-units, to sales-emea.
        {"idempotency_key": "f1", "model": model, "model_version": "v1", "input_tokens": 333, "output_tokens": 77, "status": "success",
         "principal_id": team["id"]},
        # 1000001 × 0.75 = 750000.75, rounded to 750001, to lab.2 (the key's wins).
        {"idempotency_key": "f2", "model": model, "model_version": "v1", "input_tokens": 1_000_001, "output_tokens": 0, "status": "success",
         "principal_id": team["id"], "api_key_id": lab_key["id"]},
        # An unpriced model, with text a CSV must quote.
        {"idempotency_key": "f3", "model": 'gpt "x", y', "input_tokens": 5, "output_tokens": 6, "status": "error"},
    ]
    answer = requests.post(f"{base_url}/v1/usage", json={"events": events}, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200 and answer.json()["accepted"] == 3, answer.text
    finance = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "finance"}).json()
    admin.post(f"{base_url}/v1/tenants/{slug}/role-bindings", json={"principal_id": finance["id"], "role": "finance"}).raise_for_status()
    finance_key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys", json={"principal_id": finance["id"], "name": "f"}).json()["key"]
    return {"slug": slug, "tenant_id": tenant_id, "model": model, "key": finance_key}


def export(base_url, billed, **params):
    params.setdefault("group_by", "tenant,day,model,model_version,cost_center")
    answer = requests.get(f"{base_url}/v1/tenants/{billed['slug']}/usage/export", params=params,
                          headers={"Authorization": f"Bearer {billed['key']}"})
    assert answer.status_code == 200, answer.text
    return answer


def test_the_csv_export_reads_in_pythons_csv_module_with_exact_money(base_url, billed):
    body = export(base_url, billed, format="csv").content.decode("utf-8")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[0] == CSV_HEADER
    by_center = {row[5]: row for row in rows[1:]}
    model = billed["model"]
    assert by_center["sales-emea"][3:] == [model, "v1", "sales-emea", "1", "333", "77", "500", "0.000500", "USD", "0"]
    assert by_center["lab.2"][3:] == [model, "v1", "lab.2", "1", "1000001", "0", "750001", "0.750001", "USD", "0"]
    # The unpriced event: its model's quotes and comma survive, its cost is zero and counted as unpriced.
    assert by_center[""][3:] == ['gpt "x", y', "", "", "1", "5", "6", "0", "0.000000", "USD", "1"]
    assert all(row[0] == billed["slug"] and row[1] == billed["tenant_id"] for row in rows[1:])


def test_the_csv_export_copies_back_into_a_table_with_every_value_identical(base_url, billed, tmp_path):
    body = export(base_url, billed, format="csv").content
    path = tmp_path / "export.csv"
    path.write_bytes(body)
    expected = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))[1:]
    table = """CREATE TEMP TABLE exported (tenant text, tenant_id uuid, day date, model text, model_version text, cost_center text,
               requests bigint, input_tokens bigint, output_tokens bigint, cost_micros bigint, cost numeric(24,6), currency char(3),
               unpriced_requests bigint)"""
    # Finance loads it into a database of its own; here, a temporary table of the owner role (the
    # application roles may not create even temporary tables).
    result = subprocess.run(
        ["psql", os.environ["JARVIS_OWNER_DATABASE_URL"], "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv",
         "-c", table, "-c", f"\\copy exported FROM '{path}' WITH (FORMAT csv, HEADER true)",
         "-c", "SELECT * FROM exported ORDER BY cost_center NULLS FIRST"],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    copied = list(csv.reader(io.StringIO(result.stdout, newline="")))
    assert copied[0] == CSV_HEADER
    key = lambda row: row[5]
    assert sorted(copied[1:], key=key) == sorted(expected, key=key)


def test_json_lines_are_one_object_each_with_numbers_as_numbers(base_url, billed):
    answer = export(base_url, billed, format="jsonl", group_by="model,cost_center")
    assert answer.headers["Content-Type"] == "application/x-ndjson"
    objects = [json.loads(line) for line in answer.text.splitlines()]
    lab = next(o for o in objects if o["cost_center"] == "lab.2")
    assert lab == {"model": billed["model"], "cost_center": "lab.2", "requests": 1, "input_tokens": 1_000_001, "output_tokens": 0,
                   "cost_micros": 750_001, "cost": 0.750001, "currency": "USD", "unpriced_requests": 0}
    assert any(o["model"] == 'gpt "x", y' and o["cost_center"] is None for o in objects)


def test_the_finest_grain_export_is_the_rollups_rows_and_adds_up_to_the_grouped_one(base_url, billed):
    finest = export(base_url, billed, format="csv", group_by="tenant,day,principal,model,model_version,prompt_version,cost_center")
    rows = list(csv.DictReader(io.StringIO(finest.text, newline="")))
    grouped = list(csv.DictReader(io.StringIO(export(base_url, billed, format="csv").text, newline="")))
    assert len(rows) == 3 and len(grouped) == 3
    for column in ("requests", "input_tokens", "output_tokens", "cost_micros", "unpriced_requests"):
        assert sum(int(r[column]) for r in rows) == sum(int(r[column]) for r in grouped), column
    by_center = {row["cost_center"]: row for row in rows}
    assert by_center["lab.2"]["principal_id"] == by_center["sales-emea"]["principal_id"] != ""
    assert by_center["lab.2"]["cost"] == "0.750001" and by_center["lab.2"]["prompt_version"] == ""
    assert by_center[""]["principal_id"] == "" and by_center[""]["unpriced_requests"] == "1"
    assert all(row["tenant"] == billed["slug"] for row in rows)


def test_the_focus_export_passes_the_finops_foundations_validator(base_url, billed, tmp_path):
    venv = os.environ.get("JARVIS_FOCUS_VENV")
    assert venv, "make test installs focus-validator and sets JARVIS_FOCUS_VENV"
    body = export(base_url, billed, format="focus").content
    path = tmp_path / "focus.csv"
    path.write_bytes(body)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
    lab = next(r for r in rows if r["SubAccountId"] == "lab.2")
    assert lab["BilledCost"] == "0.750001" and lab["BillingCurrency"] == "USD" and lab["ChargeCategory"] == "Usage"
    assert lab["ChargePeriodEnd"] > lab["ChargePeriodStart"] and lab["BillingAccountId"] == billed["tenant_id"]
    # The validator reads its currency list relative to its own installation.
    python = f"{venv}/bin/python"
    home = subprocess.run([python, "-c", "import os, focus_validator; print(os.path.dirname(os.path.dirname(focus_validator.__file__)))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    result = subprocess.run([f"{venv}/bin/focus-validator", "--data-file", str(path), "--validate-version", "1.0"],
                            capture_output=True, text=True, cwd=home, check=False)
    print(result.stdout[-2000:])
    assert result.returncode == 0 and "Validation succeeded" in result.stdout, result.stdout + result.stderr


def test_the_export_starts_at_once_and_the_command_line_gives_the_same_rows(base_url, billed):
    start = time.monotonic()
    with requests.get(f"{base_url}/v1/tenants/{billed['slug']}/usage/export", params={"group_by": "model,cost_center"},
                      headers={"Authorization": f"Bearer {billed['key']}"}, stream=True) as answer:
        chunks = answer.iter_content(chunk_size=65536)
        first = next(chunks)
        started = time.monotonic() - start
        body = first + b"".join(chunks)
    assert started < 1.0, f"the first byte came after {started:.2f} s"
    cli = subprocess.run([os.environ["JARVIS_BIN"], "usage", "export", "--tenant", billed["slug"], "--group-by", "model,cost_center"],
                         capture_output=True, check=False, env={**os.environ, "LOG_LEVEL": "error"})
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout == body


def test_only_finance_exports_and_only_its_own_tenant(base_url, admin, billed):
    other, _, _, _, viewer_key = seeded_tenant(base_url, admin, role="viewer")
    headers = {"Authorization": f"Bearer {billed['key']}"}
    assert requests.get(f"{base_url}/v1/tenants/{other}/usage/export", headers=headers).status_code == 404
    assert requests.get(f"{base_url}/v1/usage/export", headers=headers).status_code == 403
    refused = requests.get(f"{base_url}/v1/tenants/{other}/usage/export", headers={"Authorization": f"Bearer {viewer_key}"})
    assert refused.status_code == 403 and refused.headers["Content-Type"] == "application/problem+json"
