//! The v3 trade bill: applied for with a signed GET, downloaded with another, its SHA-1 the
//! one answered; the days and parameters WeChat refuses.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wxcheckout::wxpay::messages::beijing_date;

use super::{Answer, Client, NOTIFY, assert_refused, client};

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Client {
    fn today(&self) -> String {
        beijing_date(self.sb.clock.now_utc()).to_string()
    }

    async fn trade_bill(&self, query: &str) -> Answer {
        self.send("GET", &format!("/sandbox/v3/bill/tradebill?{query}"), "").await
    }

    /// Downloads a `download_url`, signed over its path and query as WeChat asks.
    async fn download(&self, url: &str) -> Answer {
        let target = url.strip_prefix(self.server.url().trim_end_matches('/')).unwrap().to_owned();
        self.send("GET", &target, "").await
    }
}

fn sha1_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes);
    digest.as_ref().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[tokio::test]
async fn todays_trade_bill_downloads_with_a_signed_request_and_its_sha1_matches() {
    let c = client().await;
    let (no, tx) = c.paid_order(1000, NOTIFY).await;
    let refund = json!({"out_trade_no": no, "out_refund_no": format!("R{no}"),
        "amount": {"refund": 300, "total": 1000, "currency": "CNY"}});
    assert_eq!(
        c.send("POST", "/sandbox/v3/refund/domestic/refunds", &refund.to_string()).await.status,
        StatusCode::OK
    );

    let a = c.trade_bill(&format!("bill_date={}", c.today())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    c.assert_signed(&a);
    let answer: Value = a.json();
    assert_eq!(answer["hash_type"], "SHA1");
    let url = answer["download_url"].as_str().unwrap();
    assert!(url.contains("/sandbox/v3/billdownload/file?token="), "{url}");

    let file = c.download(url).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.text());
    assert!(file.headers.get("Wechatpay-Signature").is_none(), "a bill file is not signed");
    assert_eq!(sha1_hex(&file.body), answer["hash_value"].as_str().unwrap());
    assert!(file.body.starts_with(BOM));
    let text = String::from_utf8(file.body[BOM.len()..].to_vec()).unwrap();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'), "CRLF line ends");
    assert_eq!(lines.len(), 5, "header, payment, refund, totals header, totals: {lines:?}");
    assert!(lines[0].starts_with("交易时间,公众账号ID,商户号"));
    assert_eq!(lines[0].split(',').count(), 27);
    assert!(lines[1].contains(&format!("`{tx},`{no},")) && lines[1].contains("`SUCCESS,"), "{}", lines[1]);
    assert!(lines[2].contains("`REFUND,") && lines[2].contains(&format!("`R{no},`3.00,")), "{}", lines[2]);
    assert!(lines[3].starts_with("总交易单数,"), "{}", lines[3]);

    let refunds = c.trade_bill(&format!("bill_date={}&bill_type=REFUND", c.today())).await;
    let refunds = c.download(refunds.json()["download_url"].as_str().unwrap()).await;
    assert_eq!(String::from_utf8_lossy(&refunds.body).matches("\r\n").count(), 4, "one refund line");
}

#[tokio::test]
async fn a_gzip_bill_is_the_same_file_compressed_with_the_same_hash() {
    let c = client().await;
    c.paid_order(500, NOTIFY).await;
    let plain = c.trade_bill(&format!("bill_date={}&bill_type=ALL", c.today())).await.json();
    let gzip = c.trade_bill(&format!("bill_date={}&bill_type=ALL&tar_type=GZIP", c.today())).await.json();
    assert_eq!(plain["hash_value"], gzip["hash_value"], "the hash is of the uncompressed bill");
    let bytes = c.download(plain["download_url"].as_str().unwrap()).await.body;
    let packed = c.download(gzip["download_url"].as_str().unwrap()).await;
    assert_eq!(packed.headers.get("Content-Type").unwrap(), "application/gzip");
    assert_eq!(&packed.body[..2], b"\x1f\x8b");
    assert!(packed.body.windows(bytes.len()).any(|w| w == bytes.as_slice()), "stored blocks carry the bill");
}

#[tokio::test]
async fn a_day_without_trades_or_not_yet_come_has_no_statement() {
    let c = client().await;
    let today = beijing_date(c.sb.clock.now_utc());
    for day in [today, today.previous_day().unwrap(), today.next_day().unwrap()] {
        let a = c.trade_bill(&format!("bill_date={day}")).await;
        assert_refused(&a, 400, "NO_STATEMENT_EXIST");
        assert_eq!(a.json()["message"], "请求的账单文件不存在");
    }
}

#[tokio::test]
async fn a_bill_query_without_a_date_or_with_an_unknown_type_is_refused_naming_the_parameter() {
    let c = client().await;
    let today = c.today();
    let cases = [
        ("bill_type=ALL".to_owned(), "bill_date"),
        ("bill_date=2026/11/30".to_owned(), "bill_date"),
        (format!("bill_date={today}&bill_type=EVERYTHING"), "bill_type"),
        (format!("bill_date={today}&tar_type=ZIP"), "tar_type"),
    ];
    for (query, field) in cases {
        let a = c.trade_bill(&query).await;
        assert_refused(&a, 400, "PARAM_ERROR");
        assert_eq!(a.json()["detail"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn a_download_with_a_bad_signature_or_an_unknown_token_is_refused() {
    let c = client().await;
    c.paid_order(500, NOTIFY).await;
    let url = c.trade_bill(&format!("bill_date={}", c.today())).await.json()["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = url.strip_prefix(c.server.url().trim_end_matches('/')).unwrap();
    let unsigned = c.send_with_headers("GET", target, "", &[]).await;
    assert_refused(&unsigned, 401, "SIGN_ERROR");
    let unknown = c.send("GET", "/sandbox/v3/billdownload/file?token=nosuchtoken", "").await;
    assert_refused(&unknown, 400, "PARAM_ERROR");
    assert_eq!(unknown.json()["detail"]["field"], "token");
}
