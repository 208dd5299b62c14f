import ArgumentParser
import OTel
import ServiceLifecycle

/// `MAILROOM_OTEL_TRACES`: whether the worker exports OpenTelemetry traces of each email's path.
///
/// - `off` (the default when unset): no tracer is bootstrapped; spans cost a no-op call.
/// - `otlp-http`: spans go to an OTLP/HTTP collector through swift-otel, configured by the standard
///   variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
///   `OTEL_EXPORTER_OTLP_PROTOCOL` = `http/protobuf` (default) or `http/json`, `OTEL_SERVICE_NAME`,
///   `OTEL_BSP_SCHEDULE_DELAY` …). This build has no gRPC exporter: `grpc` is refused.
///
/// Any other value is an error that names the variable; nothing falls back silently.
enum TraceExport: String, CaseIterable {
    case off
    case otlpHTTP = "otlp-http"

    static let variable = "MAILROOM_OTEL_TRACES"
    /// The standard protocol variables, the per-signal one first (it wins, as the OTel spec says).
    static let protocolVariables = ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]

    static func parse(_ environment: [String: String]) throws -> TraceExport {
        guard let text = environment[variable], !text.isEmpty else { return .off }
        guard let value = TraceExport(rawValue: text) else {
            throw ValidationError("\(variable): unknown value \"\(text)\" (use \(allCases.map(\.rawValue).joined(separator: " or ")))")
        }
        if value == .otlpHTTP {
            for name in protocolVariables {
                guard let proto = environment[name], !proto.isEmpty else { continue }
                guard ["http/protobuf", "http/json"].contains(proto) else {
                    throw ValidationError("\(name): unsupported protocol \"\(proto)\" with \(variable)=otlp-http (use http/protobuf or http/json)")
                }
            }
        }
        return value
    }

    /// Bootstraps the process-wide tracer (once per process) and returns the service that batches and
    /// exports spans, for the worker's `ServiceGroup`; nil when tracing is off. Only traces: logs keep
    /// going to standard error and metrics to `/metrics`.
    static func bootstrap(_ environment: [String: String]) throws -> (any Service)? {
        guard try parse(environment) == .otlpHTTP else { return nil }
        var config = OTel.Configuration.default
        config.serviceName = "mailroom"
        config.logs.enabled = false
        config.metrics.enabled = false
        config.traces.exporter = .otlp
        config.traces.otlpExporter.protocol = .httpProtobuf
        do {
            return try OTel.bootstrap(configuration: config, environment: environment)
        } catch {
            throw ValidationError("\(variable)=otlp-http: \(error)")
        }
    }
}
