//! Backups over the real binary: `wxcheckout backup` asks the running shop through its control
//! socket while buyers pay, `restore` fills a fresh directory, `verify` reads it, and a shop
//! started on it shows every order paid before the backup began, byte for byte in the CSV.
//! Also the admin's backups page and its download.
// why: a test that cannot unwrap has failed; the lint guards request paths, not tests.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use wxcheckout::config::Secret;
use wxcheckout::store::backup;

use crate::helpers::{self, ADMIN_PASSWORD, Buyer, Merchant};

const DESKTOP: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

/// `wxcheckout <args>` to its end: (exit code, standard output, standard error).
async fn run(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wxcheckout")).args(&args).env("RUST_LOG", "warn").output().unwrap()
    })
    .await
    .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A buyer places an order on a desktop, scans its QR code in the sandbox and pays; returns
/// once the shop has acknowledged WeChat's notification (the order page says paid).
async fn place_and_pay(shop: &str) {
    let buyer = Buyer::new(shop);
    let location = buyer.buy_now("pour-over-coffee", 1).await;
    let token = location.trim_start_matches("/o/").to_owned();
    let page = buyer
        .send(buyer.request(reqwest::Method::GET, &format!("/pay/{token}")).header("User-Agent", DESKTOP))
        .await
        .text()
        .await
        .unwrap();
    let scan = page.split("id=\"sandbox-scan\"").nth(1).unwrap().split("href=\"").nth(1).unwrap();
    let scan = scan.split('"').next().unwrap().replace("&amp;", "&");
    let scan_page =
        buyer.send(buyer.http.get(&scan).header("User-Agent", DESKTOP)).await.text().await.unwrap();
    let pr = scan_page.split("name=\"pr\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let paid = buyer
        .send(buyer.http.post(format!("{shop}/sandbox/scan")).form(&[("pr", pr.as_str()), ("action", "pay")]))
        .await;
    assert_eq!(paid.status(), 200);
    helpers::until("the shop records the payment", || async {
        let status =
            buyer.get(&format!("/o/{token}/status")).await.json::<serde_json::Value>().await.unwrap();
        status["status"] == "paid"
    })
    .await;
}

#[tokio::test]
async fn a_backup_taken_while_buyers_pay_restores_every_payment_acknowledged_before_it_byte_for_byte() {
    let env = [("WXCHECKOUT_ADMIN__PASSWORD", ADMIN_PASSWORD)];
    let live = helpers::tempdir::TempDir::new();
    let shop = helpers::spawn_binary_in(live.path(), helpers::free_port(), "serve", &env).await;
    for _ in 0..12 {
        place_and_pay(&shop.url()).await;
    }
    let merchant = Merchant::login(&shop.url(), ADMIN_PASSWORD).await;
    let before = merchant.browser.get("/admin/orders.csv").await.text().await.unwrap();
    assert_eq!(before.lines().count(), 13, "a header and 12 paid orders:\n{before}");

    // Buyers keep paying while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let paid_during = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (stop, paid_during, url) = (Arc::clone(&stop), Arc::clone(&paid_during), shop.url());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    place_and_pay(&url).await;
                    paid_during.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    helpers::until("payments are flowing", || async { paid_during.load(Ordering::SeqCst) >= 2 }).await;
    let file =
        live.path().join("../").join(format!("{}.wxbak", live.path().file_name().unwrap().to_string_lossy()));
    let (code, _, said) = run(&["backup", "--to", path(&file), "--data-dir", path(live.path())]).await;
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("from the running server"), "{said}");
    helpers::until("more payments after the backup", || async { paid_during.load(Ordering::SeqCst) >= 4 })
        .await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }

    let fresh = helpers::tempdir::TempDir::new();
    let (code, _, said) = run(&["restore", path(&file), "--data-dir", path(fresh.path())]).await;
    assert_eq!(code, 0, "{said}");
    let (code, report, said) = run(&["verify", "--data-dir", path(fresh.path())]).await;
    assert_eq!(code, 0, "{report}{said}");
    assert!(report.contains("no problems found"), "{report}");
    std::fs::remove_file(&file).unwrap();

    let restored = helpers::spawn_binary_in(fresh.path(), helpers::free_port(), "serve", &env).await;
    let merchant = Merchant::login(&restored.url(), ADMIN_PASSWORD).await;
    let after = merchant.browser.get("/admin/orders.csv").await.text().await.unwrap();
    let after_lines: std::collections::HashSet<&str> = after.lines().collect();
    for line in before.lines() {
        assert!(after_lines.contains(line), "missing after the restore: {line}\n{after}");
    }
    // And the restored shop takes new payments, numbering past the backup's.
    place_and_pay(&restored.url()).await;
}

#[tokio::test]
async fn restore_refuses_a_directory_a_server_runs_on_and_a_damaged_backup_and_changes_nothing() {
    let env = [("WXCHECKOUT_ADMIN__PASSWORD", ADMIN_PASSWORD)];
    let live = helpers::tempdir::TempDir::new();
    let shop = helpers::spawn_binary_in(live.path(), helpers::free_port(), "serve", &env).await;
    place_and_pay(&shop.url()).await;
    let file = live.path().join("backups").join("manual-copy.wxbak");
    let (code, _, said) = run(&["backup", "--to", path(&file), "--data-dir", path(live.path())]).await;
    assert_eq!(code, 0, "{said}");

    let (code, _, said) = run(&["restore", path(&file), "--data-dir", path(live.path())]).await;
    assert_eq!(code, 1);
    assert!(said.contains("stop it first"), "{said}");
    assert!(!live.path().join("db.restoring").exists());

    // Cut short, the file is refused whole: no database appears in an empty directory.
    let bytes = std::fs::read(&file).unwrap();
    let cut = live.path().join("cut.wxbak");
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
    let empty = helpers::tempdir::TempDir::new();
    let (code, _, said) = run(&["restore", path(&cut), "--data-dir", path(empty.path())]).await;
    assert_eq!(code, 1);
    assert!(said.contains("damaged"), "{said}");
    assert!(!empty.path().join("db").exists() && !empty.path().join("db.restoring").exists());
    let (code, report, _) = run(&["verify", "--backup", path(&cut)]).await;
    assert_eq!(code, 1, "{report}");

    // A stopped shop's database is moved aside, not lost, when a backup is restored over it.
    let shop_url = shop.url();
    drop(shop);
    let (code, _, said) = run(&["restore", path(&file), "--data-dir", path(live.path())]).await;
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("db.before-restore-"), "{said}");
    let aside = std::fs::read_dir(live.path()).unwrap().filter_map(Result::ok).any(|e| {
        e.file_name().to_string_lossy().starts_with("db.before-restore-") && e.path().join("db").exists()
    });
    assert!(aside, "the old database is kept beside");
    drop(shop_url);
}

#[tokio::test]
async fn the_admin_lists_backups_takes_one_on_request_and_downloads_it_whole() {
    let (server, _shop) =
        helpers::spawn_shop_with_checkout(|c| c.admin_password = Some(Secret::new(ADMIN_PASSWORD))).await;
    let merchant = Merchant::login(&server.url(), ADMIN_PASSWORD).await;
    helpers::until("the daily backup taken at start is listed", || async {
        merchant.page("/admin/backups").await.1.contains("/admin/backups/daily-")
    })
    .await;

    let refused = merchant.browser.post_form("/admin/backups", &[]).await;
    assert_eq!(refused.status(), 403, "no form token");
    let taken = merchant.post("/admin/backups", &[]).await;
    assert_eq!(taken.status(), 303);
    let (_, page) = merchant.page(taken.headers()["location"].to_str().unwrap()).await;
    let name = page.split("href=\"/admin/backups/manual-").nth(1).unwrap().split('"').next().unwrap();
    let name = format!("manual-{name}");
    assert!(page.contains("id=\"last-backup\""));

    let download = merchant.browser.get(&format!("/admin/backups/{name}")).await;
    assert_eq!(download.status(), 200);
    assert!(download.headers()["content-disposition"].to_str().unwrap().contains(&name));
    let bytes = download.bytes().await.unwrap();
    let summary = backup::check(&mut &bytes[..]).expect("a whole backup");
    assert!(summary.records > 0);

    for name in ["..%2Fsecret.key", "secret.key", "daily-20200101-000000Z.wxbak"] {
        let res = merchant.browser.get(&format!("/admin/backups/{name}")).await;
        assert_eq!(res.status(), 404, "{name}");
    }
    let stranger = Buyer::new(&server.url());
    let res = stranger.get(&format!("/admin/backups/{name}")).await;
    assert!(res.status() == 401 || res.status() == 303, "signed out: {}", res.status());
}

#[tokio::test]
async fn a_backup_client_that_stops_reading_does_not_hold_up_the_shop_s_payments() {
    let (config, dir) = helpers::test_config(|_| {});
    let data_dir = config.data_dir.clone();
    let (rocket, shop) = helpers::build_shop(config, wxcheckout::clock::Clock::system());
    // Far more than a socket's buffer: a backup written straight to this client would block.
    let orders: Vec<_> = (0..4000).map(|n| helpers::live::new_order(&format!("BULK{n:06}"), 1200)).collect();
    shop.store.bulk_load_orders(&orders).unwrap();
    let server = helpers::TestServer::start(rocket, dir).await;

    let stalled = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut client = std::os::unix::net::UnixStream::connect(data_dir.join("control.sock")).unwrap();
        client.write_all(b"backup\n").unwrap();
        client
    })
    .await
    .unwrap();
    let paid = tokio::time::timeout(std::time::Duration::from_secs(30), place_and_pay(&server.url())).await;
    assert!(paid.is_ok(), "a payment went through while the backup client read nothing");
    drop(stalled);
}
