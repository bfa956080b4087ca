"""Interop check: wechatpayv3 (a WeChat Pay API v3 SDK this project did not write) against the sandbox.

Usage: python wechatpayv3_check.py http://127.0.0.1:PORT   (a running `wxcheckout sandbox`).

wechatpayv3 verifies every 2xx answer's signature itself (it raises otherwise), in public-key
mode and, after the sandbox is switched to certificate mode, with the platform certificate it
downloads and decrypts from /v3/certificates. Payment and refund notifications arrive at a
small HTTP server here and must pass wechatpayv3's own `callback` (verify, then decrypt).
Prints one line per check and a closing "N passed, N failed" line; exits non-zero on any failure.
"""

import datetime
import gzip
import hashlib
import http.server
import json
import queue
import random
import re
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import requests
import wechatpayv3.core
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpayv3 import WeChatPay, WeChatPayType

APPID, MCHID = "wxd930ea5d5a258f4f", "10000100"
APP_SECRET = "5a4d1f0c3b2e9a8d7c6b5a4f3e2d1c0b"
# The sandbox merchant's published v3 credentials (docs/wechat-pay-v3.md#the-sandboxs-v3-side).
MERCHANT_SERIAL = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"
APIV3_KEY = "wxcheckoutSandboxApiV3Key0000001"
MERCHANT_KEY = (Path(__file__).resolve().parents[2] / "src/sandbox/v3_keys/merchant_key.pem").read_text()

results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f"  -- {detail}"), flush=True)


def attempt(name, fn):
    """Runs one SDK call; an exception (a failed signature check among them) fails the check."""
    try:
        return fn()
    except Exception as e:  # wechatpayv3 raises a bare Exception when a signature does not verify
        check(name, False, repr(e))
        return None


class Receiver(http.server.BaseHTTPRequestHandler):
    inbox = {"/notify": queue.Queue(), "/refund-notify": queue.Queue()}

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.inbox.get(self.path, queue.Queue()).put((headers, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def next_notification(path, within=15):
    return Receiver.inbox[path].get(timeout=within)


def trade_no(prefix):
    return f"{prefix}{int(time.time() * 1000)}{random.randint(100, 999)}"


def wait_healthy(sandbox):
    for _ in range(200):
        try:
            if requests.get(f"{sandbox}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise SystemExit(f"no sandbox at {sandbox}")


def point_sdk_at(api_base):
    """wechatpayv3 hard-codes WeChat's host; its requests (and the paths it signs, relative to
    that host) go to the sandbox's API base instead, set before the SDK's first request (in
    certificate mode the constructor already downloads certificates)."""

    class SandboxCore(wechatpayv3.core.Core):
        _gate_way = property(lambda self: api_base, lambda self, value: None)

    wechatpayv3.core.Core = SandboxCore


def client(wechatpay_type, notify_url, key=MERCHANT_KEY, **mode):
    return WeChatPay(wechatpay_type=wechatpay_type, mchid=MCHID, private_key=key, cert_serial_no=MERCHANT_SERIAL,
                     appid=APPID, apiv3_key=APIV3_KEY, notify_url=notify_url, timeout=10, **mode)


def body(message):
    return json.loads(message) if isinstance(message, str) and message else {}


def oauth_openid(http_, sandbox):
    """An openid of APPID, as a JSAPI shop gets it (snsapi_base)."""
    back = f"{sandbox}/pay/back"
    loc = http_.get(f"{sandbox}/sandbox/connect/oauth2/authorize", allow_redirects=False, params={
        "appid": APPID, "redirect_uri": back, "response_type": "code", "scope": "snsapi_base",
        "state": "v3"}).headers.get("Location", "")
    code = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)["code"][0]
    token = http_.get(f"{sandbox}/sandbox/sns/oauth2/access_token", params={
        "appid": APPID, "secret": APP_SECRET, "code": code, "grant_type": "authorization_code"}).json()
    return token["openid"]


def pay_native(http_, sandbox, code_url):
    """The payer scans the code on the sandbox scan page and confirms."""
    page = http_.get(f"{sandbox}/sandbox/scan", params={"code_url": code_url})
    form = re.search(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page.text)
    action = urllib.parse.urljoin(page.url, form.group(1) if form else "/sandbox/scan")
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.setdefault("code_url", code_url)
    fields["action"] = "pay"
    http_.post(action, data=fields, headers={"Origin": sandbox})


def control(http_, sandbox, settings):
    return http_.post(f"{sandbox}/sandbox/control", json=settings)


def public_key_mode(sandbox, http_, receiver):
    published = http_.get(f"{sandbox}/sandbox/v3/public-key").json()
    keys = {"public_key": published["public_key"], "public_key_id": published["public_key_id"]}
    notify_url, refund_url = f"{receiver}/notify", f"{receiver}/refund-notify"
    native = client(WeChatPayType.NATIVE, notify_url, **keys)

    # Native: order, query, pay on the scan page, the notification, query by both numbers.
    no = trade_no("V3N")
    code, msg = native.pay(description="Demo Shop-Coffee", out_trade_no=no, amount={"total": 101, "currency": "CNY"},
                           attach="table=12")
    check("v3 Native order verifies (public key) and gives a code_url",
          code == 200 and body(msg).get("code_url", "").startswith("weixin://wxpay/bizpayurl?pr="), msg)
    code_url = body(msg).get("code_url", "")
    code, msg = native.query(out_trade_no=no)
    check("v3 query of an unpaid order verifies and says NOTPAY", code == 200 and body(msg)["trade_state"] == "NOTPAY", msg)
    pay_native(http_, sandbox, code_url)
    headers, raw = next_notification("/notify")
    note = native.callback(headers, raw)
    check("payment notification verifies and decrypts with wechatpayv3",
          note and note["event_type"] == "TRANSACTION.SUCCESS" and note["resource"]["out_trade_no"] == no
          and note["resource"]["trade_state"] == "SUCCESS", note)
    tx = note["resource"]["transaction_id"] if note else ""
    code, msg = native.query(transaction_id=tx)
    check("v3 query by transaction_id verifies and finds the paid order",
          code == 200 and body(msg)["out_trade_no"] == no and body(msg)["trade_state"] == "SUCCESS", msg)

    # Refund part, the refund notification, query the refund; a refund above what is left.
    rno = trade_no("V3R")
    code, msg = native.refund(out_refund_no=rno, amount={"refund": 50, "total": 101, "currency": "CNY"},
                              out_trade_no=no, reason="test", notify_url=refund_url)
    check("v3 refund verifies and is PROCESSING", code == 200 and body(msg).get("status") == "PROCESSING", msg)
    headers, raw = next_notification("/refund-notify")
    note = native.callback(headers, raw)
    check("refund notification verifies and decrypts with wechatpayv3",
          note and note["event_type"] == "REFUND.SUCCESS" and note["resource"]["out_refund_no"] == rno
          and note["resource"]["refund_status"] == "SUCCESS" and note["resource"]["amount"]["refund"] == 50, note)
    code, msg = native.query_refund(out_refund_no=rno)
    check("v3 refund query verifies and says SUCCESS", code == 200 and body(msg)["status"] == "SUCCESS", msg)
    code, msg = native.refund(out_refund_no=trade_no("V3R"), amount={"refund": 52, "total": 101, "currency": "CNY"},
                              out_trade_no=no)
    check("a refund above what is left answers 400 INVALID_REQUEST",
          code == 400 and body(msg).get("code") == "INVALID_REQUEST", msg)

    # JSAPI: order for an openid of the appid, pay through the bridge with wechatpayv3's paySign.
    openid = oauth_openid(http_, sandbox)
    jsapi = client(WeChatPayType.JSAPI, notify_url, **keys)
    js_no = trade_no("V3J")
    code, msg = jsapi.pay(description="Demo Shop-Tea", out_trade_no=js_no, amount={"total": 88}, payer={"openid": openid})
    prepay_id = body(msg).get("prepay_id", "")
    check("v3 JSAPI order verifies and gives a prepay_id", code == 200 and prepay_id.startswith("wx"), msg)
    ts, nonce = str(int(time.time())), "e61463f8efa94090b1f366cccfbbb444"
    package = f"prepay_id={prepay_id}"
    params = {"appId": APPID, "timeStamp": ts, "nonceStr": nonce, "package": package, "signType": "RSA",
              "paySign": jsapi.sign([APPID, ts, nonce, package])}
    bridge = http_.post(f"{sandbox}/sandbox/jsapi/pay",
                        json={"params": params, "action": "pay", "page_url": f"{sandbox}/pay/{js_no}"}).json()
    check("the sandbox bridge accepts wechatpayv3's RSA paySign", bridge.get("err_msg") == "get_brand_wcpay_request:ok", bridge)
    headers, raw = next_notification("/notify")
    note = jsapi.callback(headers, raw)
    check("the JSAPI payment's notification verifies and decrypts",
          note and note["resource"]["out_trade_no"] == js_no and note["resource"]["trade_type"] == "JSAPI", note)

    # H5: order, then close (204, signed) and query CLOSED.
    h5 = client(WeChatPayType.H5, notify_url, **keys)
    h5_no = trade_no("V3H")
    code, msg = h5.pay(description="Demo Shop-Tea", out_trade_no=h5_no, amount={"total": 88},
                       scene_info={"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}})
    check("v3 H5 order verifies and gives an h5_url", code == 200 and "checkmweb?prepay_id=" in body(msg).get("h5_url", ""), msg)
    code, msg = h5.close(out_trade_no=h5_no)
    check("v3 close answers a verified 204", code == 204, msg)
    code, msg = h5.query(out_trade_no=h5_no)
    check("v3 query after closing says CLOSED", code == 200 and body(msg)["trade_state"] == "CLOSED", msg)

    # Today's trade bill (GZIP, wechatpayv3's default), downloaded with its own signed request.
    today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).strftime("%Y-%m-%d")
    code, msg = native.trade_bill(bill_date=today)
    bill = body(msg)
    check("v3 trade bill application verifies", code == 200 and bill.get("hash_type") == "SHA1", msg)
    code, data = native.download_bill(bill.get("download_url", ""))
    text = gzip.decompress(data) if code == 200 else b""
    check("the downloaded bill's SHA-1 is the answered hash_value",
          hashlib.sha1(text).hexdigest() == bill.get("hash_value"), (code, data[:200]))
    check("the bill lists the payment and the refund", no.encode() in text and rno.encode() in text, text[:300])
    tomorrow = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=32)).strftime("%Y-%m-%d")
    code, msg = native.trade_bill(bill_date=tomorrow)
    check("a bill of a day not yet come answers 400 NO_STATEMENT_EXIST",
          code == 400 and body(msg).get("code") == "NO_STATEMENT_EXIST", msg)

    # Faults and refusals.
    control(http_, sandbox, {"system_error_rate": 1.0})
    code, msg = native.query(out_trade_no=no)
    control(http_, sandbox, {"system_error_rate": 0.0})
    check("the system_error_rate fault answers 500 SYSTEM_ERROR", code == 500 and body(msg).get("code") == "SYSTEM_ERROR", msg)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    forged = client(WeChatPayType.NATIVE, notify_url, key=other_key, **keys)
    code, msg = forged.query(out_trade_no=no)
    check("a request signed with another key answers 401 SIGN_ERROR", code == 401 and body(msg).get("code") == "SIGN_ERROR", msg)
    return no


def certificate_mode(sandbox, http_, receiver, paid_no):
    notify_url = f"{receiver}/notify"
    set_mode = control(http_, sandbox, {"v3_key_mode": "certificate"}).json()
    check("the control page switches the sandbox to certificate mode", set_mode.get("v3_key_mode") == "certificate", set_mode)
    with tempfile.TemporaryDirectory() as cert_dir:
        # No public key: the SDK downloads /v3/certificates, decrypts them and verifies with them.
        native = attempt("wechatpayv3 downloads the platform certificate",
                         lambda: client(WeChatPayType.NATIVE, notify_url, cert_dir=cert_dir))
        if native is None:
            return
        serials = [format(c.serial_number, "X") for c in native._core._certificates]
        check("wechatpayv3 decrypted one platform certificate from /v3/certificates", len(serials) == 1, serials)
        code, msg = attempt("v3 query verifies with the certificate", lambda: native.query(out_trade_no=paid_no)) or (0, "")
        check("v3 query verifies with the platform certificate", code == 200 and body(msg)["trade_state"] == "REFUND", msg)
        no = trade_no("V3C")
        code, msg = native.pay(description="Demo Shop-Coffee", out_trade_no=no, amount={"total": 66})
        check("v3 Native order verifies with the platform certificate", code == 200 and "code_url" in body(msg), msg)
        pay_native(http_, sandbox, body(msg).get("code_url", ""))
        headers, raw = next_notification("/notify")
        note = native.callback(headers, raw)
        check("payment notification signed under the certificate verifies and decrypts",
              note and headers.get("wechatpay-serial") in serials and note["resource"]["out_trade_no"] == no, headers)
    control(http_, sandbox, {"v3_key_mode": "public_key"})


def main(sandbox):
    wait_healthy(sandbox)
    receiver = start_receiver()
    point_sdk_at(f"{sandbox}/sandbox")
    http_ = requests.Session()
    paid_no = public_key_mode(sandbox, http_, receiver)
    certificate_mode(sandbox, http_, receiver, paid_no)
    passed = sum(results)
    print(f"interop v3: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/")))
