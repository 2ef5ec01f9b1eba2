namespace HealthAgent.Mqtt;

/// <summary>Base of all exceptions thrown by this library.</summary>
public class MqttException : Exception
{
    public MqttException() { }
    public MqttException(string message) : base(message) { }
    public MqttException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The broker refused CONNECT (CONNACK reason ≥ 0x80, or a 3.1.1 return code mapped to it).</summary>
public sealed class MqttConnectException : MqttException
{
    public MqttConnectException(MqttReasonCode reasonCode, string? reasonString = null)
        : base($"Connection refused: {reasonCode.Describe()}{(reasonString is null ? "" : " (" + reasonString + ")")}")
    {
        ReasonCode = reasonCode;
        ReasonString = reasonString;
    }

    /// <summary>CONNACK reason code.</summary>
    public MqttReasonCode ReasonCode { get; }

    /// <summary>Specification name of <see cref="ReasonCode"/>.</summary>
    public string ReasonName => ReasonCode.GetName();

    /// <summary>v5 Reason String, if the server sent one.</summary>
    public string? ReasonString { get; }
}

/// <summary>The client is not connected (never connected, disconnected, or lost while a request was pending).</summary>
public sealed class MqttNotConnectedException : MqttException
{
    public MqttNotConnectedException() : base("The MQTT client is not connected.") { }
    public MqttNotConnectedException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// A QoS 1 message was not acknowledged and the broker did not resume the session on reconnect (or the client was
/// disposed): it may or may not have arrived. The caller should publish <see cref="ApplicationMessage"/> again.
/// </summary>
public sealed class MqttMessageNotDeliveredException : MqttException
{
    public MqttMessageNotDeliveredException(MqttApplicationMessage message, string reason)
        : base($"Message on '{message.Topic}' was not acknowledged: {reason}")
    {
        ApplicationMessage = message;
    }

    /// <summary>The message to publish again.</summary>
    public MqttApplicationMessage ApplicationMessage { get; }
}

/// <summary>A packet broke the protocol; <see cref="ReasonCode"/> is the code used to close the connection.</summary>
public sealed class MqttProtocolException : MqttException
{
    public MqttProtocolException(MqttReasonCode reasonCode, string message) : base($"{reasonCode.Describe()}: {message}")
    {
        ReasonCode = reasonCode;
    }

    /// <summary>Malformed Packet (0x81), Protocol Error (0x82), Packet too large (0x95), …</summary>
    public MqttReasonCode ReasonCode { get; }
}
