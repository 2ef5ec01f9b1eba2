namespace HealthAgent.Mqtt.Tests; public class PlaceholderTests { [Fact] public void Build_Compiles() => Assert.True(typeof(PlaceholderTests).Assembly is not null); }
