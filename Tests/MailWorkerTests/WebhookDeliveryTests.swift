import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// Webhook delivery (docs/webhooks.md) by a real `JobRunner` to real HTTP receivers
/// (`scripts/lib/webhook_receiver.py`): order, signatures, retries, disabling, limits, isolation
/// between endpoints and tenants, replay.
@Suite struct WebhookDeliveryTests {
    static let wait: Duration = .seconds(30)

    @Test func eventsArriveInOrderSignedAndAcknowledgedMoveTheCursor() async throws {
        try await WebhookFixture.run("wh-order") { f in
            let receiver = try TestWebhookReceiver()
            let id = try await f.addEndpoint("crm", url: receiver.url + "/hooks/mailroom", secret: "s3cret-order")
            try await f.emit(2)
            try await f.emit(1, first: 3)
            try await f.emit(2, first: 4)
            #expect(try await Eventually.until(timeout: Self.wait) { try await WebhookFixture.acknowledged(receiver).count >= 5 })
            let requests = try await receiver.requests()
            #expect(try requests.map { try WebhookFixture.seq(of: $0) } == [1, 2, 3, 4, 5])
            for request in requests {
                #expect(request.path == "/hooks/mailroom")
                #expect(request.headers["content-type"] == "application/json")
                let signature = try #require(request.headers["mailroom-signature"])
                #expect(WebhookSignature.verify(signature, secret: Secret("s3cret-order"), body: Array(request.body.utf8)))
                #expect(!WebhookSignature.verify(signature, secret: Secret("other"), body: Array(request.body.utf8)))
                // The signed time is now, give or take the test's run.
                let t = try #require(signature.split(separator: ",").first.flatMap { Double($0.dropFirst(2)) })
                #expect(abs(t - request.time) < 60)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any])
                #expect(json["id"] as? String == request.headers["mailroom-event-id"])
                #expect(json["type"] as? String == "test.happened")
                #expect(json["version"] as? Int == 1)
                #expect((json["occurred_at"] as? String)?.hasSuffix("Z") == true)
                #expect((json["payload"] as? [String: Any])?["n"] as? Int == Int(try WebhookFixture.seq(of: request)))
            }
            #expect(try await Eventually.until(timeout: Self.wait) { try await f.endpoint(id)?.cursor == 5 })
            receiver.stop()
        }
    }

    @Test func aBatchingEndpointGetsItsEventsInOrderedSignedBatches() async throws {
        try await WebhookFixture.run("wh-batch") { f in
            let receiver = try TestWebhookReceiver()
            // The first batch is refused once: it comes again whole, and nothing after it goes first.
            try await receiver.setMode(.fail(status: 503), count: 1)
            let id = try await f.addEndpoint("bulk", url: receiver.url, secret: "s3cret-batch", batchSize: 4)
            try await f.emit(10)
            try await f.emit(3, first: 11)
            #expect(try await Eventually.until(timeout: Self.wait) { try await f.endpoint(id)?.cursor == 13 })
            let requests = try await receiver.requests()
            func seqs(_ r: TestWebhookReceiver.Request) throws -> [Int64] {
                let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
                let events = try #require(json["events"] as? [[String: Any]])
                return events.map { ($0["seq"] as? NSNumber)?.int64Value ?? -1 }
            }
            let batches = try requests.map(seqs)
            #expect(requests.first?.status == 503 && batches.first == batches.dropFirst().first, "the refused batch is resent as it was")
            let acknowledged = zip(requests, batches).filter { (200..<300).contains($0.0.status) }.map(\.1)
            #expect(acknowledged.flatMap { $0 } == Array(1...13), "every event once, in order: \(acknowledged)")
            #expect(acknowledged.allSatisfy { (1...4).contains($0.count) })
            for (request, seqs) in zip(requests, batches) {
                let signature = try #require(request.headers["mailroom-signature"])
                #expect(WebhookSignature.verify(signature, secret: Secret("s3cret-batch"), body: Array(request.body.utf8)))
                #expect(request.headers["mailroom-event-count"] == String(seqs.count))
                #expect(request.headers["mailroom-event-id"] == nil)
            }
            receiver.stop()
        }
    }

    @Test func serverErrorsAreRetriedWithBackoffUntilDeliveredWithoutGaps() async throws {
        let logs = LogCapture()
        try await WebhookFixture.run("wh-retry", logger: logs.logger) { f in
            let receiver = try TestWebhookReceiver()
            try await receiver.setMode(.fail(status: 503), count: 3)
            let id = try await f.addEndpoint("crm", url: receiver.url, secret: "never-log-this-secret")
            try await f.emit(3)
            #expect(try await Eventually.until(timeout: Self.wait) { try await WebhookFixture.acknowledged(receiver) == [1, 2, 3] })
            let requests = try await receiver.requests()
            // Three refusals of event 1, then 1, 2, 3 once each, in order.
            #expect(requests.map(\.status) == [503, 503, 503, 200, 200, 200])
            #expect(try requests.map { try WebhookFixture.seq(of: $0) } == [1, 1, 1, 1, 2, 3])
            // Backoff: each retry later than the one before it.
            #expect(requests[2].time - requests[1].time > 0.1 && requests[3].time - requests[2].time > 0.1)
            #expect(try await Eventually.until(timeout: Self.wait) {
                let e = try await f.endpoint(id)
                return e?.cursor == 3 && e?.consecutiveFailures == 0 && e?.failingSince == nil
            })
            // A fraction of failures: every event still arrives acknowledged, in order, none skipped.
            try await receiver.setMode(.fail(status: 500, fraction: 0.3, seed: 7))
            try await f.emit(12, first: 4)
            #expect(try await Eventually.until(timeout: .seconds(60)) { try await f.endpoint(id)?.cursor == 15 })
            let acknowledged = try await WebhookFixture.acknowledged(receiver)
            #expect(acknowledged == Array(1...15))
            // The failures were logged with the tenant and the error, never with the secret.
            let lines = logs.all.map { "\($0.message) \($0.metadata)" }
            #expect(lines.contains { $0.contains("webhook delivery failed") && $0.contains("HTTP 503") && $0.contains("tenant_id") })
            #expect(!lines.contains { $0.contains("never-log-this-secret") })
            receiver.stop()
        }
    }

    @Test func anEndpointFailingForItsWholeWindowIsDisabledWithAnEvent() async throws {
        try await WebhookFixture.run("wh-disable") { f in
            let receiver = try TestWebhookReceiver()
            try await receiver.setMode(.down)
            let id = try await f.addEndpoint("crm", url: receiver.url, window: 2)
            try await f.emit(1)
            #expect(try await Eventually.until(timeout: Self.wait) { try await f.endpoint(id)?.enabled == false })
            let (reason, events) = try await f.pool.transaction(tenant: f.tenant) { [tenant = f.tenant] conn in
                (try conn.query("SELECT disabled_reason FROM webhook_endpoint WHERE tenant_id = \(tenant) AND id = \(id)").one().decode(String.self, at: 0),
                 try EventQueries.events(conn, after: 0, max: 10))
            }
            #expect(reason.contains("retry window"))
            let disabled = try #require(events.first { $0.type == "webhook.disabled" })
            #expect(disabled.seq == 2)
            #expect(disabled.payload.contains("\"name\": \"crm\"") && disabled.payload.contains("\"endpoint_id\": \(id)"))
            #expect(try EventSchemas.violations(disabled) == [], "docs/events/webhook.disabled.json")
            // Retried more than once within the window, then nothing more.
            let tries = try await receiver.requests().count
            #expect(tries >= 2)
            try await f.emit(1, first: 2)
            try await f.emit(1, first: 3)
            #expect(try await f.endpoint(id)?.cursor == 0)
            receiver.stop()
        }
    }

    @Test func redirectsHangingReceiversAndHugeAnswersFailWithAClearError() async throws {
        try await WebhookFixture.run("wh-limits") { f in
            let redirect = try TestWebhookReceiver(), hang = try TestWebhookReceiver(), huge = try TestWebhookReceiver()
            try await redirect.setMode(.redirect(status: 302))
            try await hang.setMode(.hang(seconds: 3600))
            try await huge.setMode(.huge(bytes: 1 << 20))
            let ids = (
                try await f.addEndpoint("redirect", url: redirect.url), try await f.addEndpoint("hang", url: hang.url),
                try await f.addEndpoint("huge", url: huge.url)
            )
            try await f.emit(1)
            func error(_ id: Int64) async throws -> String { try await f.lastError(id) ?? "" }
            #expect(try await Eventually.until(timeout: Self.wait) {
                let (a, b, c) = (try await error(ids.0), try await error(ids.1), try await error(ids.2))
                return !a.isEmpty && !b.isEmpty && !c.isEmpty
            })
            let (redirected, hung, big) = (try await error(ids.0), try await error(ids.1), try await error(ids.2))
            #expect(redirected.contains("HTTP 302 (redirects are not followed)"))
            #expect(hung.contains("timeout") && hung.contains("did not answer within"))
            #expect(big.contains("responseTooLarge") && big.contains("more than 16384 bytes"))
            for id in [ids.0, ids.1, ids.2] { #expect(try await f.endpoint(id)?.cursor == 0) }
            // The redirect's target was never asked: the redirect receiver saw the one POST and its retries only.
            #expect(try await redirect.requests().allSatisfy { $0.status == 302 })
            for r in [redirect, hang, huge] { r.stop() }
        }
    }

    @Test func aHangingEndpointDelaysNeitherAnotherEndpointNorAnotherTenant() async throws {
        // The hanging POST must outlast the others' deliveries however loaded the machine is: its
        // timeout is the longest the test waits for them, not the fixture's 4 s.
        var settings = WebhookFixture.settings
        settings.totalTimeout = Self.wait * 3
        try await WebhookFixture.run("wh-slow", settings: settings) { f in
            let other = try await f.makeTenant("wh-slow-b")
            let slow = try TestWebhookReceiver(), fast = try TestWebhookReceiver(), fastOther = try TestWebhookReceiver()
            try await slow.setMode(.hang(seconds: 3600))
            let slowID = try await f.addEndpoint("slow", url: slow.url)
            try await f.addEndpoint("fast", url: fast.url)
            try await f.addEndpoint("fast", url: fastOther.url, tenant: other)
            try await f.emit(1)
            #expect(try await Eventually.until(timeout: Self.wait) { try await !slow.requests().isEmpty })
            // The slow receiver holds its POST (up to its total timeout); meanwhile the others deliver.
            try await f.emit(3, first: 2)
            try await f.emit(2, tenant: other)
            #expect(try await Eventually.until(timeout: Self.wait) {
                let (a, b) = (try await WebhookFixture.acknowledged(fast), try await WebhookFixture.acknowledged(fastOther))
                return a == [1, 2, 3, 4] && b == [1, 2]
            })
            // Still within the slow endpoint's first attempt: no failure recorded yet.
            #expect(try await f.lastError(slowID) == nil)
            for r in [slow, fast, fastOther] { r.stop() }
        }
    }

    @Test func eachTenantsEndpointsReceiveOnlyThatTenantsEventsOfTheirTypes() async throws {
        try await WebhookFixture.run("wh-tenants") { f in
            let other = try await f.makeTenant("wh-tenants-b")
            let mine = try TestWebhookReceiver(), theirs = try TestWebhookReceiver(), filtered = try TestWebhookReceiver()
            try await f.addEndpoint("crm", url: mine.url)
            try await f.addEndpoint("cases", url: filtered.url, types: ["case.created"])
            try await f.addEndpoint("crm", url: theirs.url, tenant: other)
            try await f.emit(2, type: "email.received")
            try await f.emit(1, type: "case.created", first: 3)
            try await f.emit(1, type: "email.received", first: 100, tenant: other)
            #expect(try await Eventually.until(timeout: Self.wait) {
                let (a, b, c) = (try await WebhookFixture.acknowledged(mine), try await WebhookFixture.acknowledged(theirs),
                                 try await WebhookFixture.acknowledged(filtered))
                return a == [1, 2, 3] && b == [1] && c == [3]
            })
            // By the payload's `n`, not by searching the body: an event id or a time may contain "100".
            func numbers(_ r: TestWebhookReceiver) async throws -> [Int] {
                try await r.requests().map { request in
                    let json = try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any]
                    return ((json?["payload"] as? [String: Any])?["n"] as? Int) ?? -1
                }
            }
            #expect(try await numbers(theirs) == [100])
            #expect(try await !numbers(mine).contains(100))
            for r in [mine, theirs, filtered] { r.stop() }
        }
    }

    @Test func replayResendsFromTheGivenNumberAndReenablesADisabledEndpoint() async throws {
        try await WebhookFixture.run("wh-replay") { f in
            let receiver = try TestWebhookReceiver()
            let id = try await f.addEndpoint("crm", url: receiver.url, window: 1)
            try await f.emit(4)
            #expect(try await Eventually.until(timeout: Self.wait) { try await WebhookFixture.acknowledged(receiver) == [1, 2, 3, 4] })
            let tenant = f.tenant
            #expect(try await f.pool.transaction(tenant: tenant) { try WebhookQueries.webhookReplay($0, tenant: tenant, name: "crm", from: 2) })
            #expect(try await Eventually.until(timeout: Self.wait) {
                try await WebhookFixture.acknowledged(receiver) == [1, 2, 3, 4, 2, 3, 4]
            })
            // Disabled after its window, replay enables it again and clears the failures.
            try await receiver.setMode(.down)
            try await f.emit(1, first: 5)
            #expect(try await Eventually.until(timeout: Self.wait) { try await f.endpoint(id)?.enabled == false })
            try await receiver.setMode(.ok)
            #expect(try await f.pool.transaction(tenant: tenant) { try WebhookQueries.webhookReplay($0, tenant: tenant, name: "crm", from: 5) })
            // Event 6 is the `webhook.disabled` event itself, written while the endpoint was disabled.
            #expect(try await Eventually.until(timeout: Self.wait) { try await f.endpoint(id)?.cursor == 6 })
            let e = try #require(try await f.endpoint(id))
            #expect(e.enabled && e.consecutiveFailures == 0 && e.failingSince == nil)
            #expect(try await f.pool.transaction(tenant: tenant) { try WebhookQueries.webhookReplay($0, tenant: tenant, name: "nope", from: 1) } == false)
            receiver.stop()
        }
    }

    /// With the default quick retries, a receiver that refuses a request now and then (two 503s in
    /// a row here) gets it again within the run: no failure is counted, no backoff holds up the events
    /// behind it, and order holds.
    @Test func aPassingRefusalIsRetriedAtOnceWithoutBackingOff() async throws {
        var settings = WebhookFixture.settings
        settings.quickRetryDelays = WebhookDeliverySettings().quickRetryDelays
        settings.backoff = .init(base: 3600, cap: 3600)  // a counted failure would stall the test
        try await WebhookFixture.run("wh-quick", settings: settings) { f in
            let receiver = try TestWebhookReceiver()
            try await receiver.setMode(.fail(status: 503), count: 2)
            let id = try await f.addEndpoint("crm", url: receiver.url)
            try await f.emit(3)
            #expect(try await Eventually.until(timeout: Self.wait) { try await f.endpoint(id)?.cursor == 3 })
            let requests = try await receiver.requests()
            #expect(requests.map(\.status) == [503, 503, 200, 200, 200])
            #expect(try requests.map { try WebhookFixture.seq(of: $0) } == [1, 1, 1, 2, 3])
            let e = try await f.endpoint(id)
            #expect(e?.consecutiveFailures == 0 && e?.failingSince == nil)
            #expect(try await f.lastError(id) == nil)
            receiver.stop()
        }
    }

    @Test func requestsCarryOneEnvelopeOrABatchOfThem() {
        let deliveries = (1...5).map { WebhookDelivery(seq: Int64($0), eventID: "id-\($0)", body: "{\"seq\":\($0)}") }
        let single = WebhookRequest.requests(deliveries, batchSize: 1)
        #expect(single.map(\.body) == deliveries.map(\.body) && single.map(\.eventID) == deliveries.map(\.eventID))
        let batched = WebhookRequest.requests(deliveries, batchSize: 2)
        #expect(batched.map(\.body) == ["{\"events\":[{\"seq\":1},{\"seq\":2}]}", "{\"events\":[{\"seq\":3},{\"seq\":4}]}",
                                       "{\"events\":[{\"seq\":5}]}"])
        #expect(batched.map(\.lastSeq) == [2, 4, 5] && batched.map(\.count) == [2, 2, 1] && batched.allSatisfy { $0.eventID == nil })
        #expect(batched[0].events == "events 1-2" && single[0].events == "event 1")
        let headers = batched[0].headers(secret: Secret("k"), time: 1_796_630_400)
        #expect(headers.contains("Mailroom-Event-Count: 2") && !headers.contains { $0.hasPrefix("Mailroom-Event-Id") })
        #expect(single[0].headers(secret: Secret("k"), time: 1).contains("Mailroom-Event-Id: id-1"))
    }

    @Test func onlyNotNowAnswersAreRetriedAtOnce() {
        func answer(_ status: Int) -> Result<WebhookAnswer, TransportError> { .success(WebhookAnswer(status: status)) }
        #expect([500, 502, 503, 504, 408, 429].allSatisfy { WebhookJobHandler.worthRetryingAtOnce(answer($0)) })
        #expect(![200, 301, 302, 400, 401, 404, 410].contains { WebhookJobHandler.worthRetryingAtOnce(answer($0)) })
        #expect(WebhookJobHandler.worthRetryingAtOnce(.failure(TransportError(.connectFailed, detail: "refused", service: "webhook"))))
        #expect(WebhookJobHandler.worthRetryingAtOnce(.failure(TransportError(.connectionLost, detail: "reset", service: "webhook"))))
        #expect(!WebhookJobHandler.worthRetryingAtOnce(.failure(TransportError(.timeout, detail: "15 s", service: "webhook"))))
        #expect(!WebhookJobHandler.worthRetryingAtOnce(.failure(TransportError(.hostRefused, detail: "private", service: "webhook"))))
    }

}
