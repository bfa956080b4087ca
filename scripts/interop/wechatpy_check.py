"""Interop check: wechatpy (a WeChat Pay v2 SDK this project did not write) against the sandbox.

Usage: python wechatpy_check.py http://127.0.0.1:PORT   (a running `wxcheckout sandbox`
started with WXCHECKOUT_SANDBOX__TIME_SCALE=0.01 so the 5-minute rules take 3 s).

Every API call's answer must verify with wechatpy's own signature check, its payment
notifications must pass `parse_payment_result`, and its refund notifications must decrypt
with `parse_refund_notify_result`. Prints one line per check and a closing
"N passed, N failed" line; exits non-zero on any failure.
"""

import datetime
import http.server
import queue
import random
import re
import sys
import threading
import time
import urllib.parse

import requests
from wechatpy.exceptions import WeChatPayException
from wechatpy.oauth import WeChatOAuth
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature_hmac

APPID, MCH_ID, KEY = "wxd930ea5d5a258f4f", "10000100", "192006250b4c09247ec02edce69f6a2d"
APP_SECRET = "5a4d1f0c3b2e9a8d7c6b5a4f3e2d1c0b"
SUCCESS_REPLY = b"<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"

results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f"  -- {detail}"), flush=True)


class Receiver(http.server.BaseHTTPRequestHandler):
    inbox = {"/notify": queue.Queue(), "/refund-notify": queue.Queue()}

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.inbox.get(self.path, queue.Queue()).put(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.end_headers()
        self.wfile.write(SUCCESS_REPLY)

    def log_message(self, *args):
        pass


def start_receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def trade_no(prefix):
    return f"{prefix}{int(time.time() * 1000)}{random.randint(100, 999)}"


def signed(pay, data):
    return pay.check_signature(dict(data))


def wait_healthy(sandbox):
    for _ in range(200):
        try:
            if requests.get(f"{sandbox}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise SystemExit(f"no sandbox at {sandbox}")


def main(sandbox):
    wait_healthy(sandbox)
    receiver = start_receiver()
    pay = WeChatPay(APPID, KEY, MCH_ID, timeout=10)
    pay.API_BASE_URL = f"{sandbox}/sandbox/"
    notify_url, refund_url = f"{receiver}/notify", f"{receiver}/refund-notify"
    http_ = requests.Session()

    # NATIVE: create, query, pay on the sandbox scan page, notification, query again.
    no = trade_no("NAT")
    r = pay.order.create("NATIVE", "Demo Shop-Coffee", 101, notify_url, client_ip="127.0.0.1",
                         out_trade_no=no, product_id="SKU-1", attach="table=12")
    check("unifiedorder NATIVE answer verifies", signed(pay, r), r)
    check("unifiedorder NATIVE gives a weixin:// code_url", r.get("code_url", "").startswith("weixin://wxpay/bizpayurl?pr="), r)
    q = pay.order.query(out_trade_no=no)
    check("orderquery of an unpaid order verifies and says NOTPAY", signed(pay, q) and q["trade_state"] == "NOTPAY", q)
    pay_native(http_, sandbox, r["code_url"])
    body = Receiver.inbox["/notify"].get(timeout=10)
    n = pay.parse_payment_result(body)
    check("payment notification verifies with wechatpy", n["out_trade_no"] == no and n["total_fee"] == 101, n)
    q = pay.order.query(out_trade_no=no)
    check("orderquery after paying says SUCCESS with a transaction_id",
          signed(pay, q) and q["trade_state"] == "SUCCESS" and q["transaction_id"] == n["transaction_id"], q)
    q2 = pay.order.query(transaction_id=n["transaction_id"])
    check("orderquery by transaction_id finds the same order", signed(pay, q2) and q2["out_trade_no"] == no, q2)
    try:
        pay.order.create("NATIVE", "Demo Shop-Coffee", 101, notify_url, client_ip="127.0.0.1",
                         out_trade_no=no, product_id="SKU-1", attach="table=12")
        check("re-ordering a paid out_trade_no is refused", False, "no error")
    except WeChatPayException as e:
        check("re-ordering a paid out_trade_no answers ORDERPAID", e.errcode == "ORDERPAID", e)

    # Refund half, its notification, refundquery.
    rf = pay.refund.apply(101, 50, trade_no("RF"), out_trade_no=no, notify_url=refund_url, refund_desc="test")
    check("refund answer verifies", signed(pay, rf) and rf["refund_fee"] == "50", rf)
    body = Receiver.inbox["/refund-notify"].get(timeout=15)
    rn = pay.parse_refund_notify_result(body)
    check("refund notification decrypts with wechatpy", rn["refund_status"] == "SUCCESS" and rn["refund_fee"] == 50, rn)
    rq = pay.refund.query(out_trade_no=no)
    check("refundquery verifies and lists the refund", signed(pay, rq) and rq.get("refund_status_0") == "SUCCESS", rq)

    # The bill of today (Beijing) lists the payment.
    today = (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).strftime("%Y%m%d")
    bill = pay.tools.download_bill(today)
    text = bill if isinstance(bill, str) else bill.get("data", "")
    check("downloadbill lists the payment", no in str(text), str(bill)[:300])

    # OAuth snsapi_base: authorize → code → openid; the code works once.
    # The sandbox redirects only to the registered OAuth domain (loopback by default).
    back = f"{sandbox}/pay/back"
    oauth = WeChatOAuth(APPID, APP_SECRET, back)
    oauth.API_BASE_URL = f"{sandbox}/sandbox/"
    loc = http_.get(f"{sandbox}/sandbox/connect/oauth2/authorize", allow_redirects=False, params={
        "appid": APPID, "redirect_uri": back, "response_type": "code",
        "scope": "snsapi_base", "state": "abc123"}).headers.get("Location", "")
    qs = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
    check("authorize redirects back with a code and the state", qs.get("state") == ["abc123"] and qs.get("code"), loc)
    tok = oauth.fetch_access_token(qs["code"][0])
    check("the code gives an openid", tok.get("openid", "").startswith("o"), tok)
    openid = tok.get("openid", "")
    try:
        oauth.fetch_access_token(qs["code"][0])
        check("a used code is refused", False, "accepted twice")
    except Exception as e:  # wechatpy raises WeChatOAuthException
        check("a used code is refused with 40163", "40163" in str(e), e)

    loc = http_.get(f"{sandbox}/sandbox/connect/oauth2/authorize", allow_redirects=False, params={
        "appid": APPID, "redirect_uri": "https://evil.example/pay/back", "response_type": "code",
        "scope": "snsapi_base", "state": "abc123"})
    check("authorize refuses a redirect_uri off the OAuth domain (10003)",
          "Location" not in loc.headers and "10003" in loc.text, loc.text[:200])

    # MWEB and JSAPI orders; HMAC-SHA256; a re-entry with other parameters.
    # wechatpy JSON-encodes scene_info itself
    scene = {"h5_info": {"type": "Wap", "wap_url": "https://shop.example.com", "wap_name": "Demo"}}
    mw = pay.order.create("MWEB", "Demo Shop-Tea", 88, notify_url, client_ip="203.0.113.7",
                          out_trade_no=trade_no("MW"), scene_info=scene)
    check("unifiedorder MWEB verifies and gives an mweb_url", signed(pay, mw) and "mweb_url" in mw, mw)
    js_no = trade_no("JS")
    js = pay.order.create("JSAPI", "Demo Shop-Tea", 88, notify_url, client_ip="203.0.113.7",
                          out_trade_no=js_no, user_id=openid)
    check("unifiedorder JSAPI verifies and gives a prepay_id", signed(pay, js) and js.get("prepay_id"), js)
    params = pay.jsapi.get_jsapi_params(js["prepay_id"])
    # The bridge learns the calling page: only pages directly in the registered /pay/ directory.
    outside = http_.post(f"{sandbox}/sandbox/jsapi/pay", json={
        "params": params, "action": "pay", "page_url": f"{sandbox}/pay/x/oauth?code=1"}).json()
    check("the bridge refuses a page outside the JSAPI directory",
          outside.get("err_desc") == "当前页面的URL未注册", outside)
    page = f"{sandbox}/pay/{js_no}"
    bridge = http_.post(f"{sandbox}/sandbox/jsapi/pay", json={"params": params, "action": "pay", "page_url": page}).json()
    check("the sandbox bridge accepts wechatpy's JSAPI paySign", bridge.get("err_msg") == "get_brand_wcpay_request:ok", bridge)
    n = pay.parse_payment_result(Receiver.inbox["/notify"].get(timeout=10))
    check("the JSAPI payment's notification verifies", n["out_trade_no"] == js_no and n["trade_type"] == "JSAPI", n)
    forged = dict(params, paySign="0" * 32)
    bridge = http_.post(f"{sandbox}/sandbox/jsapi/pay", json={"params": forged, "action": "pay", "page_url": page}).json()
    check("the sandbox bridge refuses a wrong paySign", bridge.get("err_msg") == "get_brand_wcpay_request:fail", bridge)
    try:
        pay.order.create("JSAPI", "Demo Shop-Tea", 88, notify_url, client_ip="203.0.113.7",
                         out_trade_no=trade_no("OI"), user_id="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        check("an openid this appid never issued is refused", False, "accepted")
    except WeChatPayException as e:
        check("an openid of another appid answers appid和openid不匹配", "appid和openid不匹配" in (e.errmsg or ""), e)
    re_no = trade_no("RE")
    pay.order.create("JSAPI", "Demo Shop-Tea", 88, notify_url, client_ip="203.0.113.7",
                     out_trade_no=re_no, user_id=openid)
    try:
        pay.order.create("JSAPI", "Demo Shop-Tea", 99, notify_url, client_ip="203.0.113.7",
                         out_trade_no=re_no, user_id=openid)
        check("re-entry with another amount is refused", False, "no error")
    except WeChatPayException as e:
        check("re-entry with another amount answers INVALID_REQUEST 201", e.errcode == "INVALID_REQUEST" and "201" in (e.errmsg or ""), e)
    hm = pay.order.create("NATIVE", "Demo Shop-Tea", 88, notify_url, client_ip="127.0.0.1",
                          out_trade_no=trade_no("HM"), product_id="SKU-2", sign_type="HMAC-SHA256")
    sig = hm.pop("sign", None)
    check("an HMAC-SHA256 order's answer is signed with HMAC-SHA256", sig == calculate_signature_hmac(hm, KEY), hm)

    # closeorder: refused at first, accepted after 5 minutes (scaled).
    cl = trade_no("CL")
    pay.order.create("NATIVE", "Demo Shop-Tea", 88, notify_url, client_ip="127.0.0.1", out_trade_no=cl, product_id="SKU-3")
    try:
        pay.order.close(cl)
        check("closeorder in the first 5 minutes is refused", False, "closed at once")
    except WeChatPayException as e:
        check("closeorder in the first 5 minutes is refused", e.result_code == "FAIL", e)
    time.sleep(3.5)
    c = pay.order.close(cl)
    check("closeorder after 5 minutes succeeds and verifies", signed(pay, c), c)

    # A wrong key is a protocol failure (unsigned).
    bad = WeChatPay(APPID, "0" * 32, MCH_ID, timeout=10)
    bad.API_BASE_URL = pay.API_BASE_URL
    try:
        bad.order.query(out_trade_no=no)
        check("a wrongly signed request is refused", False, "answered")
    except WeChatPayException as e:
        check("a wrongly signed request gets return_code FAIL", e.return_code == "FAIL", e)

    passed = sum(results)
    print(f"interop: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


def pay_native(http_, sandbox, code_url):
    """The payer scans the code on the sandbox scan page and confirms."""
    page = http_.get(f"{sandbox}/sandbox/scan", params={"code_url": code_url})
    form = re.search(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page.text)
    action = urllib.parse.urljoin(page.url, form.group(1) if form else "/sandbox/scan")
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.setdefault("code_url", code_url)
    fields["action"] = "pay"
    http_.post(action, data=fields, headers={"Origin": sandbox})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/")))
