//! Alerts to the merchant: which events cause one, what an alert records of its delivery to
//! each channel, and when a failed delivery is tried again. Pure values and rules; the store
//! writes an alert in the same transaction as the event that causes it (`store::outbox`),
//! and `checkout::alerts` delivers it.

use serde::{Deserialize, Serialize};

use super::{Event, EventKind};

/// Attention alerts of one kind within this many seconds of the last one sent are not sent.
pub const COALESCE_SECS: i64 = 10 * 60;
/// A failed delivery is retried for this long after the alert was made, then given up.
pub const RETRY_FOR_SECS: i64 = 24 * 3600;
/// The answers kept per channel of one alert (the latest).
pub const ANSWERS_KEPT: usize = 8;
/// Longest answer kept, in characters.
pub const ANSWER_MAX: usize = 300;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// An order was paid.
    Paid,
    /// A refund settled.
    Refunded,
    /// A refund failed or was refused by WeChat.
    RefundFailed,
    /// Something needs the merchant (a double payment, an amount that does not match, a
    /// payment the bill shows and we do not know …).
    Attention,
    /// The merchant's "send a test alert".
    Test,
}

impl Topic {
    /// The alert an event causes, if any.
    pub fn of(event: &Event) -> Option<Topic> {
        match event.kind {
            EventKind::Paid => Some(Topic::Paid),
            EventKind::Refunded => Some(Topic::Refunded),
            EventKind::RefundFailed => Some(Topic::RefundFailed),
            _ if event.attention => Some(Topic::Attention),
            _ => None,
        }
    }

    /// The webhook's event type (`order.paid`, …): stable, for receivers to switch on.
    pub fn event_type(self) -> &'static str {
        match self {
            Topic::Paid => "order.paid",
            Topic::Refunded => "order.refunded",
            Topic::RefundFailed => "refund.failed",
            Topic::Attention => "order.attention",
            Topic::Test => "test",
        }
    }
}

/// A place alerts go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Wecom,
    Webhook,
    Email,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Wecom => "wecom",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet; tried again at `next_at`.
    Pending,
    Delivered,
    /// Retried for a day without success, or the channel was removed meanwhile.
    GaveUp,
}

/// One try to deliver, as the admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub at: i64,
    pub ok: bool,
    /// The receiver's status and body, or why there was none (cut to `ANSWER_MAX`).
    pub text: String,
    pub millis: u64,
}

/// An alert's delivery to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel: ChannelKind,
    pub state: DeliveryState,
    pub tries: u32,
    pub next_at: i64,
    /// The latest answers, oldest first.
    pub answers: Vec<Answer>,
}

/// An alert: what happened, and its deliveries (fixed at the first try, from the channels the
/// merchant had set up then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The causing event's id: the webhook's idempotency key, the same on every retry.
    pub id: u64,
    pub at: i64,
    pub topic: Topic,
    pub order_no: Option<String>,
    pub message: String,
    /// Empty until the first try.
    pub deliveries: Vec<Delivery>,
    /// When every delivery ended (delivered or given up).
    pub finished_at: Option<i64>,
    /// The causing event's kind word (`double_payment`, …), to tell repeats apart.
    #[serde(default)]
    pub kind: Option<String>,
    /// Not sent: an attention alert of the same kind went out within `COALESCE_SECS`.
    #[serde(default)]
    pub coalesced: bool,
}

impl Alert {
    pub fn new(id: u64, at: i64, topic: Topic, order_no: Option<String>, message: String) -> Alert {
        Alert {
            id,
            at,
            topic,
            order_no,
            message,
            deliveries: Vec::new(),
            finished_at: None,
            kind: None,
            coalesced: false,
        }
    }

    /// The alert an event causes (`None` for events that cause none).
    pub fn of_event(id: u64, order_no: Option<&str>, event: &Event) -> Option<Alert> {
        let topic = Topic::of(event)?;
        let mut alert = Alert::new(id, event.at, topic, order_no.map(str::to_owned), event.message.clone());
        alert.kind = Some(event.kind.as_str().to_owned());
        Some(alert)
    }

    /// Finishes an attention alert without sending it: the same kind of problem was alerted
    /// moments ago (a merchant setting that fails every buyer's payment would otherwise send
    /// one message per buyer, past WeCom's 20 a minute).
    pub fn coalesce(&mut self, now: i64) {
        self.coalesced = true;
        self.finished_at = Some(now);
    }

    /// Fixes the channels at the first try. No channel: the alert is finished at once.
    pub fn start(&mut self, channels: &[ChannelKind], now: i64) {
        if !self.deliveries.is_empty() || self.finished_at.is_some() {
            return;
        }
        self.deliveries = channels
            .iter()
            .map(|&channel| Delivery {
                channel,
                state: DeliveryState::Pending,
                tries: 0,
                next_at: now,
                answers: Vec::new(),
            })
            .collect();
        if self.deliveries.is_empty() {
            self.finished_at = Some(now);
        }
    }

    /// The channels due for a try at `now`.
    pub fn due(&self, now: i64) -> Vec<ChannelKind> {
        self.deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Pending && d.next_at <= now)
            .map(|d| d.channel)
            .collect()
    }

    /// The earliest time a pending delivery is due (`None`: nothing left to do).
    pub fn next_at(&self) -> Option<i64> {
        self.deliveries.iter().filter(|d| d.state == DeliveryState::Pending).map(|d| d.next_at).min()
    }

    /// Records a try's answer: delivered, or scheduled again with backoff until a day after
    /// the alert, then given up.
    pub fn record(&mut self, channel: ChannelKind, mut answer: Answer) {
        let now = answer.at;
        let alert_at = self.at;
        let Some(d) = self.deliveries.iter_mut().find(|d| d.channel == channel) else { return };
        if d.state != DeliveryState::Pending {
            return;
        }
        d.tries += 1;
        if answer.text.chars().count() > ANSWER_MAX {
            answer.text = answer.text.chars().take(ANSWER_MAX).collect();
        }
        let ok = answer.ok;
        d.answers.push(answer);
        if d.answers.len() > ANSWERS_KEPT {
            d.answers.remove(0);
        }
        if ok {
            d.state = DeliveryState::Delivered;
        } else {
            let next = now + retry_delay(d.tries);
            if next > alert_at + RETRY_FOR_SECS {
                d.state = DeliveryState::GaveUp;
            } else {
                d.next_at = next;
            }
        }
        self.finish_if_done(now);
    }

    /// Gives up a channel the merchant removed since the alert started.
    pub fn give_up(&mut self, channel: ChannelKind, now: i64, why: &str) {
        if let Some(d) =
            self.deliveries.iter_mut().find(|d| d.channel == channel && d.state == DeliveryState::Pending)
        {
            d.state = DeliveryState::GaveUp;
            d.answers.push(Answer { at: now, ok: false, text: why.to_owned(), millis: 0 });
        }
        self.finish_if_done(now);
    }

    fn finish_if_done(&mut self, now: i64) {
        if self.deliveries.iter().all(|d| d.state != DeliveryState::Pending) {
            self.finished_at = Some(now);
        }
    }
}

/// Seconds before the next try after `tries` failed ones: 10 s, 30 s, 1 min, 5 min, 15 min,
/// 30 min, 1 h, then every 2 h (a day holds about 17 tries).
pub fn retry_delay(tries: u32) -> i64 {
    match tries {
        0 | 1 => 10,
        2 => 30,
        3 => 60,
        4 => 5 * 60,
        5 => 15 * 60,
        6 => 30 * 60,
        7 => 3600,
        _ => 2 * 3600,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EventSource;

    fn answer(at: i64, ok: bool) -> Answer {
        Answer { at, ok, text: if ok { "200".into() } else { "500".into() }, millis: 3 }
    }

    #[test]
    fn paid_refunded_refund_failed_and_attention_events_cause_alerts_and_others_do_not() {
        let e = |kind| Event::new(0, EventSource::Notification, kind, "m");
        assert_eq!(Topic::of(&e(EventKind::Paid)), Some(Topic::Paid));
        assert_eq!(Topic::of(&e(EventKind::Refunded)), Some(Topic::Refunded));
        assert_eq!(Topic::of(&e(EventKind::RefundFailed)), Some(Topic::RefundFailed));
        assert_eq!(Topic::of(&e(EventKind::DoublePayment).attention()), Some(Topic::Attention));
        assert_eq!(Topic::of(&e(EventKind::Placed)), None);
        assert_eq!(Topic::of(&e(EventKind::Prepay)), None);
    }

    #[test]
    fn a_failed_delivery_backs_off_and_is_given_up_a_day_after_the_alert() {
        let mut alert = Alert::new(7, 1000, Topic::Paid, Some("N1".into()), "paid".into());
        alert.start(&[ChannelKind::Webhook, ChannelKind::Wecom], 1000);
        assert_eq!(alert.due(1000), vec![ChannelKind::Webhook, ChannelKind::Wecom]);
        alert.record(ChannelKind::Wecom, answer(1000, true));
        alert.record(ChannelKind::Webhook, answer(1000, false));
        assert_eq!(alert.next_at(), Some(1010));
        assert!(alert.due(1005).is_empty());
        let mut now = 1010;
        while alert.finished_at.is_none() {
            alert.record(ChannelKind::Webhook, answer(now, false));
            now = alert.next_at().unwrap_or(now);
        }
        let webhook = &alert.deliveries[0];
        assert_eq!(webhook.state, DeliveryState::GaveUp);
        assert!(webhook.tries > 10 && webhook.tries < 25, "{} tries in a day", webhook.tries);
        assert_eq!(webhook.answers.len(), ANSWERS_KEPT);
        assert!(alert.finished_at.unwrap() <= 1000 + RETRY_FOR_SECS);
        assert_eq!(alert.deliveries[1].state, DeliveryState::Delivered);
    }

    #[test]
    fn an_alert_with_no_channel_is_finished_when_it_starts() {
        let mut alert = Alert::new(1, 5, Topic::Test, None, "t".into());
        alert.start(&[], 6);
        assert_eq!(alert.finished_at, Some(6));
        assert_eq!(alert.next_at(), None);
    }
}
