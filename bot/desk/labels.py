"""Japanese labels the coordinator pages show for codes kept in the database."""

from __future__ import annotations

from bot.channels import registry

INTENT_LABELS = {
    "caregiver_emergency": "介護者の 急病",
    "debt_or_abuse": "借金・虐待",
    "trial_stay": "体験",
    "housing_search": "住まい",
    "crisis": "いのちの 危険",
    "faq": "質問",
    "other": "その他",
}
CHANNEL_LABELS = {row.name: row.label for row in registry.ROWS}
WHO = {"in": "本人・家族", "bot": "まどぐち（自動）", "coordinator": "相談員", "system": "お知らせ（自動）"}
EVENT_LABELS = {
    "opened": "ケースを 開いた",
    "escalated": "受付に 回った",
    "paged": "呼び出した",
    "grouped": "呼び出しを まとめた（Webチャットの 上限）",
    "viewed": "見た",
    "claimed": "受けた",
    "replied": "返事を 送った",
    "note": "メモ",
    "reassigned": "わたした",
    "resolved": "終わりにした",
    "delivery_failed": "送信が 届かなかった",
    "delivery_retried": "送信を やりなおした",
    "page_passed": "呼び出しが 届かず、次の 方法で 送った",
    "forgotten": "本人の 希望で 記録を 消した",
    "received": "写真・スタンプなどが 届いた",
}
#: What a coordinator's phone is told after pressing 受ける on a page.
PHONE_CLAIM = {
    "won": "ケース #{case} を 受けました。本人への 返事は ページから どうぞ。",
    "taken": "ケース #{case} は ほかの 相談員が 先に 受けました。",
    "not_yours": "ケース #{case} は 受けられません（地域が ちがうか、もう 終わっています）。",
}
#: One-line notices on the coordinator pages after an action (``?m=`` of the redirect).
FLASH = {
    "claimed": "ケースを 受けました。",
    "taken": "ほかの 相談員が 先に 受けました。",
    "none": "いま 待っている ケースは ありません。",
    "sent": "返事を 送りました（届くまで 少し かかることが あります）。",
    "noted": "メモを 残しました。",
    "reassigned": "わたしました。相手に 知らせました。",
    "resolved": "終わりに しました。",
    "saved": "保存しました。",
    "login": "ログイン名か パスワードが ちがいます。",
    "slow": "ログインの 試行が 多すぎます。15分ほど 待ってから、もう一度 お試しください。",
}
BAD_FLASH = {"taken", "login", "slow"}
#: Why a case action could not be done (``bot.desk.casework.CaseworkError``), by code: the case page shows
#: the words for the code in ``?e=``, and nothing else from the URL.
PROBLEMS = {
    "case_hidden": "この ケースは 見られません。",
    "reply_empty": "返事が 空です。",
    "reply_long": "返事が 長すぎます（{limit}字まで）。",
    "forgotten": "この 人の 記録は 本人の 希望で 消されています。返事は 送れません。",
    "claim_first": "返事を するには、先に この ケースを 受けてください。",
    "note_empty": "メモが 空です。",
    "bad_colleague": "その 相談員には わたせません。",
    "reason_needed": "ほかの 相談員が 受けている ケースを わたすときは、理由を 書いてください。",
    "case_resolved": "終わった ケースです。",
    "no_outcome": "結果を 選んでください。",
    "already_resolved": "もう 終わっています。",
    "household_region": "この 地域の 世帯は 登録できません。",
    "household_label": "呼び名を 入れてください（名前でなくて 大丈夫です）。",
    "household_hidden": "この 世帯は 見られません。",
}
