#!/usr/bin/env python3
"""Write the fuzz targets' seed inputs from the golden cases (fixtures/*/cases) and the Froxlor
captures (../shared/captures), in each target's input layout (see the target's header comment).
The seeds go to fuzz/corpus-raw/<target>/; `fuzz/run --minimize` merges them into fuzz/corpus/."""
import hashlib
import io
import json
import os
import pathlib
import tarfile
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus-raw"


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def cases(panel):
    for p in sorted((ROOT / "fixtures" / panel / "cases").glob("*.toml")):
        yield tomllib.loads(p.read_text())


def split_target(target):
    path, _, query = target.partition("?")
    return path, query


# Froxlor: selector byte, optional query line, body.
for case in cases("froxlor"):
    req = case.get("request", {})
    body = req.get("body", "")
    auth = req.get("auth", "")
    for v in (b"\x00", b"\x01"):
        put("froxlor_request", v + body.encode())
    if auth:
        import base64
        put("froxlor_request", b"\x00Basic " + base64.b64encode(auth.encode()) + b"\n" + body.encode())
captures = ROOT.parent / "shared" / "captures"
for f in sorted(captures.glob("froxlor-*/*.txt")):
    text = f.read_text(errors="replace")
    if "### REQUEST:" not in text:
        continue
    head, _, rest = text.partition("\n")
    request, _, _ = rest.partition("### RESPONSE:")
    line = head.split()
    target = line[3] if len(line) > 3 else "/api.php"
    _, query = split_target(target)
    sel = b"\x01" if "2.3" in f.parent.name else b"\x00"
    if query:
        put("froxlor_request", bytes([sel[0] | 2]) + query.encode() + b"\n" + request.strip().encode())
    else:
        put("froxlor_request", sel + request.strip().encode())

# Plesk packets, and the XML reader on the same documents.
for case in cases("plesk"):
    for key in ("request", "response"):
        if key in case:
            put("plesk_packet", case[key])
            put("xml_roundtrip", case[key])

# ISPsystem: query line, body.
for case in cases("ispsystem"):
    _, query = split_target(case.get("request", ""))
    put("ispsystem_params", query + "\n")
    put("ispsystem_params", "func=" + "\n" + query)
    if "response" in case and case.get("format", "xml") == "xml":
        put("xml_roundtrip", case["response"])

# httpapi.com: path, query line, body.
for case in cases("httpapi"):
    req = case.get("request", {})
    path, query = split_target(req.get("target", "/api/"))
    path = path.removeprefix("/api/")
    put("httpapi_request", f"{path}\n{query}\n{req.get('body', '')}")

# Multipart: boundary line, body (an ISPsystem backups.upload as curl -F sends it).
b = "------------------------d74496d66958873e"
for name in ("backup.tar.gz", "../../etc/passwd", ""):
    body = (
        f"--{b}\r\nContent-Disposition: form-data; name=\"func\"\r\n\r\nbackups.upload\r\n"
        f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        f"Content-Type: application/gzip\r\n\r\n\x1f\x8b\x08\x00data\r\n--{b}--\r\n"
    )
    put("multipart", f"{b}\n{body}")

# The archive reader: tar streams shaped like panelgate's archives.
def tar_of(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


home = b"<?php echo 'hello';\n"
sha = hashlib.sha256(home).hexdigest()
manifest = {
    "format": "panelgate-backup",
    "version": 1,
    "created_at": 1767225600,
    "scope": {"kind": "customer", "id": 3, "name": "customer1"},
    "description": "seed",
    "items": [{"type": "customer", "name": "customer1", "owner": "admin"},
              {"type": "files", "name": "customer1", "owner": "customer1"}],
    "records": {"customers": [{"id": 3, "loginname": "customer1"}]},
}
checksums = {"homes/customer1/index.php": {"size": len(home), "sha256": sha}}
put("archive_reader", tar_of([
    ("manifest.json", json.dumps(manifest).encode()),
    ("homes/customer1/index.php", home),
    ("checksums.json", json.dumps(checksums).encode()),
]))
put("archive_reader", tar_of([("manifest.json", b"{}")]))
put("archive_reader", tar_of([("homes/../../etc/passwd", b"x")]))
