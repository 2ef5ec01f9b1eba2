namespace HealthAgent.Mqtt; internal static class Placeholder {}
